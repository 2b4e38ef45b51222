//! launchd cannot run here (it is macOS's init): its property lists are read back by a real
//! plist parser (Python's plistlib, with the DTD's structure checked) and the helper each one
//! starts is run for real as the run user, as launchd would with `UserName`/`GroupName`.

use crate::helpers_run::yaml_quote;
use crate::support::{as_run_user, require_root, Sandbox, RUN_USER};
use procexport::testing::parse_plists;
use std::fs;
use std::os::unix::fs::MetadataExt;

#[test]
fn hostile_values_round_trip_through_a_plist_parser_and_the_helper_runs_as_the_run_user() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = sandbox.path().join("work <dir> & \"q\" 'x' -- ü %s");
    fs::create_dir_all(&work).unwrap();
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\nkill_timeout: 7\nenv: {{SECRET: \"s3cr3t <&> 100%\"}}\ncommands:\n  web:\n    command: echo \"$SECRET\"; pwd\n    respawn: {{count: 3, interval: 30}}\n  once:\n    command: echo once\n    respawn: false\n",
        yaml_quote(work.to_str().unwrap()),
    ));
    sandbox.export("launchd", &procfile, "myapp").success();
    let plists = sandbox.root().join("Library/LaunchDaemons");
    let web = plists.join("fb-myapp-web.plist");
    let once = plists.join("fb-myapp-once.plist");
    let text = fs::read_to_string(&web).unwrap();
    assert!(
        !text.contains("s3cr3t"),
        "an env value in a plist every user can read"
    );
    for path in [&web, &once] {
        let meta = fs::metadata(path).unwrap();
        assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (0, 0, 0o644));
    }
    let parsed = parse_plists(&[web.clone(), once.clone()]).unwrap_or_else(|e| panic!("{e}"));
    let web_plist: serde_yaml::Value = serde_yaml::from_str(&parsed[0]).unwrap();
    let once_plist: serde_yaml::Value = serde_yaml::from_str(&parsed[1]).unwrap();
    assert_eq!(web_plist["Label"].as_str(), Some("fb-myapp-web"));
    assert_eq!(web_plist["UserName"].as_str(), Some(RUN_USER));
    assert_eq!(web_plist["GroupName"].as_str(), Some(RUN_USER));
    assert_eq!(web_plist["WorkingDirectory"].as_str(), work.to_str());
    assert_eq!(web_plist["KeepAlive"].as_bool(), Some(true));
    assert_eq!(once_plist["KeepAlive"].as_bool(), Some(false));
    assert_eq!(web_plist["ThrottleInterval"].as_u64(), Some(10));
    assert_eq!(web_plist["ExitTimeOut"].as_u64(), Some(7));
    assert!(web_plist["StandardOutPath"].is_null() && web_plist["EnvironmentVariables"].is_null());
    let argv: Vec<String> = serde_yaml::from_value(web_plist["ProgramArguments"].clone()).unwrap();
    assert_eq!(argv[..2], ["/bin/sh".to_owned(), "-c".to_owned()]);
    // The -c code as launchd hands it to sh: run as the run user, it starts the helper, which
    // logs, changes directory and has the env.
    let output = as_run_user("/bin/sh")
        .arg("-c")
        .arg(&argv[2])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    let logged = fs::read_to_string(&log).unwrap();
    assert_eq!(logged, format!("s3cr3t <&> 100%\n{}\n", work.display()));
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    assert_eq!(fs::metadata(&log).unwrap().uid(), user.uid.as_raw());
    let helper = sandbox.root().join("Library/procexport/fb-myapp-web.sh");
    let meta = fs::metadata(&helper).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (0, user.gid.as_raw(), 0o750)
    );
}

/// launchd never runs on Linux: `status` lists the daemons by label as unknown, and `start`,
/// `stop` and `restart` fail, naming the `launchctl` commands to run on the Mac; an export and
/// a clean still change the files.
#[test]
fn control_and_status_say_launchd_is_not_here_and_what_to_run_on_the_mac() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile("web: exec sleep 1000\nclock: exec sleep 1001\n");
    sandbox.export("launchd", &procfile, "myapp").success();
    let plist = sandbox
        .root()
        .join("Library/LaunchDaemons/fb-myapp-web.plist");
    for verb in ["start", "stop", "restart"] {
        sandbox
            .run(&[verb, "-n", "myapp"])
            .failure(1)
            .stderr_has("launchd is not running here")
            .stderr_has("launchctl bootstrap system /")
            .stderr_has("launchctl bootout system /")
            .stderr_has(&plist.display().to_string());
    }
    let status = sandbox.run(&["status", "-n", "myapp"]).success().stdout;
    let rows = crate::support::live::status_rows(&status);
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        ["fb-myapp-clock", "fb-myapp-web"],
        "{status}"
    );
    assert!(rows.values().all(|r| r.state == "unknown"), "{status}");
    assert!(status.contains("launchctl bootout system"), "{status}");
    sandbox.procfile("web: exec sleep 1000\n");
    sandbox.export("launchd", &procfile, "myapp").success();
    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "launchd"])
        .success();
    assert!(!plist.exists());
}
