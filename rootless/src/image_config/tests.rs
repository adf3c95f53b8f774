//! Unit tests of the image config → spec conversion.

use serde_json::json;

use super::*;

fn base() -> Spec {
    crate::default_spec(vec!["/bin/sh".into()], false)
}

#[test]
fn entrypoint_cmd_env_cwd_labels() {
    let image = json!({"config": {
        "Entrypoint": ["/bin/app"], "Cmd": ["--serve"],
        "Env": ["PATH=/app/bin", "LANG=C"], "WorkingDir": "srv",
        "Labels": {"org.example": "yes"}, "StopSignal": "SIGQUIT",
        "Volumes": {"/data": {}}, "ExposedPorts": {"80/tcp": {}}
    }});
    let dir = tempfile::tempdir().unwrap();
    let (spec, notes) = apply_image_config(&base(), &image, dir.path()).unwrap();
    let p = spec.process().as_ref().unwrap();
    assert_eq!(p.args().as_deref().unwrap(), ["/bin/app", "--serve"]);
    assert_eq!(
        p.env().as_deref().unwrap(),
        ["PATH=/app/bin", "TERM=xterm", "LANG=C"]
    );
    assert_eq!(p.cwd(), Path::new("/srv"));
    assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
    let a = spec.annotations().as_ref().unwrap();
    assert_eq!(a["org.example"], "yes");
    assert_eq!(a[STOP_SIGNAL_ANNOTATION], "SIGQUIT");
    assert_eq!(notes.len(), 2, "{notes:?}");
}

#[test]
fn no_config_keeps_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, notes) = apply_image_config(&base(), &json!({}), dir.path()).unwrap();
    // (capabilities are sets: compare what the image config could change)
    let (p, b) = (
        spec.process().clone().unwrap(),
        base().process().clone().unwrap(),
    );
    assert_eq!(
        (p.args(), p.env(), p.cwd(), p.user()),
        (b.args(), b.env(), b.cwd(), b.user())
    );
    assert_eq!(spec.annotations(), base().annotations());
    assert!(notes.is_empty());
}

#[test]
fn wrong_types_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    for (cfg, field) in [
        (json!({"Cmd": "ls"}), "config.Cmd"),
        (json!({"Env": [1]}), "config.Env"),
        (json!({"User": 5}), "config.User"),
        (json!({"Labels": ["a"]}), "config.Labels"),
    ] {
        let err = apply_image_config(&base(), &json!({ "config": cfg }), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{err}");
    }
}
