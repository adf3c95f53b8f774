//! `sifcri sif header|list|info|dump` against the reference siftool's golden output
//! for the reference implementation's test images: byte-identical, one test per file.

mod sif_common;

use sif_common::testdata;

use std::process::Command;

/// The SIF fixtures: `$SIFCRI_TESTDATA`, else `../shared/testdata/sif`.
/// Runs `sifcri sif <args>` with the image path appended and compares stdout with the golden file.
fn check(args: &[&str], image: &str, golden: &str) {
    let data = testdata();
    let out = Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .arg("sif")
        .args(args)
        .arg(data.join("images").join(image))
        .output()
        .expect("run sifcri");
    assert!(
        out.status.success(),
        "sifcri failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read(data.join("siftool-golden").join(golden)).expect("read golden");
    if out.stdout != want {
        panic!(
            "output differs from {golden}\n--- got ---\n{}\n--- want ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want)
        );
    }
}

macro_rules! golden {
    ($($test:ident: [$($arg:literal),+] $image:literal => $golden:literal;)+) => {
        $(
            #[test]
            fn $test() {
                check(&[$($arg),+], $image, $golden);
            }
        )+
    };
}

golden! {
    header_empty: ["header"] "empty.sif" => "TestApp_Header/Empty.golden";
    header_empty_id: ["header"] "empty-id.sif" => "TestApp_Header/EmptyID.golden";
    header_empty_launch_script: ["header"] "empty-launch-script.sif" => "TestApp_Header/EmptyLaunchScript.golden";
    header_one_object_time: ["header"] "one-object-time.sif" => "TestApp_Header/OneObjectTime.golden";
    header_one_object_generic_json: ["header"] "one-object-generic-json.sif" => "TestApp_Header/OneObjectGenericJSON.golden";
    header_one_object_crypt_message: ["header"] "one-object-crypt-message.sif" => "TestApp_Header/OneObjectCryptMessage.golden";
    header_one_object_sbom: ["header"] "one-object-sbom.sif" => "TestApp_Header/OneObjectSBOM.golden";
    header_one_object_oci_root_index: ["header"] "one-object-oci-root-index.sif" => "TestApp_Header/OneObjectOCIRootIndex.golden";
    header_one_object_oci_blob: ["header"] "one-object-oci-blob.sif" => "TestApp_Header/OneObjectOCIBlob.golden";
    header_one_group: ["header"] "one-group.sif" => "TestApp_Header/OneGroup.golden";
    header_one_group_signed_legacy: ["header"] "one-group-signed-legacy.sif" => "TestApp_Header/OneGroupSignedLegacy.golden";
    header_one_group_signed_legacy_all: ["header"] "one-group-signed-legacy-all.sif" => "TestApp_Header/OneGroupSignedLegacyAll.golden";
    header_one_group_signed_legacy_group: ["header"] "one-group-signed-legacy-group.sif" => "TestApp_Header/OneGroupSignedLegacyGroup.golden";
    header_one_group_signed_pgp: ["header"] "one-group-signed-pgp.sif" => "TestApp_Header/OneGroupSignedPGP.golden";
    header_two_groups: ["header"] "two-groups.sif" => "TestApp_Header/TwoGroups.golden";
    header_two_groups_signed_legacy: ["header"] "two-groups-signed-legacy.sif" => "TestApp_Header/TwoGroupsSignedLegacy.golden";
    header_two_groups_signed_legacy_all: ["header"] "two-groups-signed-legacy-all.sif" => "TestApp_Header/TwoGroupsSignedLegacyAll.golden";
    header_two_groups_signed_legacy_group: ["header"] "two-groups-signed-legacy-group.sif" => "TestApp_Header/TwoGroupsSignedLegacyGroup.golden";
    header_two_groups_signed_pgp: ["header"] "two-groups-signed-pgp.sif" => "TestApp_Header/TwoGroupsSignedPGP.golden";

    list_empty: ["list"] "empty.sif" => "TestApp_List/Empty.golden";
    list_empty_id: ["list"] "empty-id.sif" => "TestApp_List/EmptyID.golden";
    list_empty_launch_script: ["list"] "empty-launch-script.sif" => "TestApp_List/EmptyLaunchScript.golden";
    list_one_object_time: ["list"] "one-object-time.sif" => "TestApp_List/OneObjectTime.golden";
    list_one_object_generic_json: ["list"] "one-object-generic-json.sif" => "TestApp_List/OneObjectGenericJSON.golden";
    list_one_object_crypt_message: ["list"] "one-object-crypt-message.sif" => "TestApp_List/OneObjectCryptMessage.golden";
    list_one_object_sbom: ["list"] "one-object-sbom.sif" => "TestApp_List/OneObjectSBOM.golden";
    list_one_object_oci_blob: ["list"] "one-object-oci-blob.sif" => "TestApp_List/OneObjectOCIBlob.golden";
    list_one_object_oci_root_index: ["list"] "one-object-oci-root-index.sif" => "TestApp_List/OneObjectOCIRootIndex.golden";
    list_one_group: ["list"] "one-group.sif" => "TestApp_List/OneGroup.golden";
    list_one_group_signed_legacy: ["list"] "one-group-signed-legacy.sif" => "TestApp_List/OneGroupSignedLegacy.golden";
    list_one_group_signed_legacy_all: ["list"] "one-group-signed-legacy-all.sif" => "TestApp_List/OneGroupSignedLegacyAll.golden";
    list_one_group_signed_legacy_group: ["list"] "one-group-signed-legacy-group.sif" => "TestApp_List/OneGroupSignedLegacyGroup.golden";
    list_one_group_signed_pgp: ["list"] "one-group-signed-pgp.sif" => "TestApp_List/OneGroupSignedPGP.golden";
    list_two_groups: ["list"] "two-groups.sif" => "TestApp_List/TwoGroups.golden";
    list_two_groups_signed_legacy: ["list"] "two-groups-signed-legacy.sif" => "TestApp_List/TwoGroupsSignedLegacy.golden";
    list_two_groups_signed_legacy_all: ["list"] "two-groups-signed-legacy-all.sif" => "TestApp_List/TwoGroupsSignedLegacyAll.golden";
    list_two_groups_signed_legacy_group: ["list"] "two-groups-signed-legacy-group.sif" => "TestApp_List/TwoGroupsSignedLegacyGroup.golden";
    list_two_groups_signed_pgp: ["list"] "two-groups-signed-pgp.sif" => "TestApp_List/TwoGroupsSignedPGP.golden";

    info_time: ["info", "1"] "one-object-time.sif" => "TestApp_Info/Time.golden";
    info_generic_json: ["info", "1"] "one-object-generic-json.sif" => "TestApp_Info/GenericJSON.golden";
    info_crypt_message: ["info", "1"] "one-object-crypt-message.sif" => "TestApp_Info/CryptMessage.golden";
    info_sbom: ["info", "1"] "one-object-sbom.sif" => "TestApp_Info/SBOM.golden";
    info_oci_root_index: ["info", "1"] "one-object-oci-root-index.sif" => "TestApp_Info/OCIRootIndex.golden";
    info_oci_blob: ["info", "1"] "one-object-oci-blob.sif" => "TestApp_Info/OCIBlob.golden";
    info_data_partition_raw: ["info", "1"] "two-groups-signed-pgp.sif" => "TestApp_Info/DataPartitionRaw.golden";
    info_data_partition_squashfs: ["info", "2"] "two-groups-signed-pgp.sif" => "TestApp_Info/DataPartitionSquashFS.golden";
    info_data_partition_ext3: ["info", "3"] "two-groups-signed-pgp.sif" => "TestApp_Info/DataPartitionEXT3.golden";
    info_data_signature: ["info", "4"] "two-groups-signed-pgp.sif" => "TestApp_Info/DataSignature.golden";

    dump_one: ["dump", "1"] "one-group.sif" => "TestApp_Dump/One.golden";
    dump_two: ["dump", "2"] "one-group.sif" => "TestApp_Dump/Two.golden";
}

/// Every golden file is covered by a test above (a new fixture fails here).
#[test]
fn every_golden_file_has_a_test() {
    let src = include_str!("sif_golden.rs");
    let root = testdata().join("siftool-golden");
    let mut count = 0;
    for verb in std::fs::read_dir(&root).expect("read golden dir") {
        let verb = verb.expect("entry").path();
        for g in std::fs::read_dir(&verb).expect("read verb dir") {
            let g = g.expect("entry").path();
            let rel = g
                .strip_prefix(&root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            assert!(src.contains(&format!("\"{rel}\"")), "no test for {rel}");
            count += 1;
        }
    }
    assert_eq!(count, 50);
}
