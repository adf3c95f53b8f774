//! Build script of the `sifcri` package: links the small `sifcri` program (src/main.rs)
//! with GNU ld. rustc links with lld by default, and lld keeps the exception tables
//! (`.gcc_except_table`) of every function it drops from the library: 0.8 MiB of the
//! small program's 2.4 MiB, all of it read from disk by a cold `sifcri mount`
//! (docs/fusefs.md, "Cold mount"). GNU ld drops them with their functions. The other
//! binaries keep lld (faster links; most of their functions are live anyway).

fn main() {
    println!("cargo:rustc-link-arg-bin=sifcri=-fuse-ld=bfd");
    println!("cargo:rerun-if-changed=build.rs");
}
