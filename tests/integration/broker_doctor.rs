//! `msgwork doctor --broker`: a NATS JetStream server checked, and every way it can fail saying
//! what to change, without ever printing the password.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Msgwork;

/// The broker for the broker tests, from `MSGWORK_TEST_BROKER`; without one the test says why it
/// is skipped and returns `None`.
pub fn broker(test: &str) -> Option<String> {
    match std::env::var("MSGWORK_TEST_BROKER") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: no NATS server configured. Start one with \
                 `eval \"$(bash .ci/nats)\"`, which sets MSGWORK_TEST_BROKER."
            );
            None
        }
    }
}

/// A second server of the test's own, with three users: one with JetStream, one in an account
/// without it, and one that may not create streams. Killed when dropped.
struct LockedServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for LockedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn locked_server() -> Option<LockedServer> {
    let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = format!(
        r#"listen: "127.0.0.1:{port}"
jetstream {{ store_dir: "{store}" }}
accounts {{
  SHOP {{
    jetstream: enabled
    users: [
      {{ user: owner, password: "owner-secret-1" }}
      {{ user: reader, password: "reader-secret-2",
         permissions: {{ publish: {{ allow: ["$JS.API.INFO"] }}, subscribe: {{ allow: ["_INBOX.>"] }} }} }}
    ]
  }}
  PLAIN {{ users: [ {{ user: plain, password: "plain-secret-3" }} ] }}
}}
"#,
        store = dir.path().join("store").display()
    );
    let conf = dir.path().join("server.conf");
    std::fs::write(&conf, config).expect("config written");
    let child = Command::new(binary)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = LockedServer {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

fn check<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["nats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} check in {v}"))
}

#[test]
fn the_test_broker_passes_every_check() {
    let Some(url) = broker("the_test_broker_passes_every_check") else {
        return;
    };
    let out = Msgwork::new(&["doctor", "--broker", &url, "--json"]).output();
    out.success();
    let v = out.json();
    let ids: Vec<&str> = v["nats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["connect", "version", "jetstream", "create-stream"]);
    assert_eq!(v["broker"], url.as_str());
    let text = Msgwork::new(&["doctor"])
        .env("MSGWORK_BROKER", &url)
        .output();
    text.success();
    assert!(
        text.stdout.contains("ready for the labs' --broker"),
        "{}",
        text.stdout
    );
}

#[test]
fn nothing_listening_fails_the_connection_with_what_to_do_and_hides_the_password() {
    let out = Msgwork::new(&[
        "doctor",
        "--broker",
        "nats://ann:hunter2@127.0.0.1:1",
        "--json",
    ])
    .output();
    out.expect_code(1);
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    let v = out.json();
    assert_eq!(v["broker"], "nats://ann:***@127.0.0.1:1");
    let connect = check(&v, "connect");
    assert_eq!(connect["ok"], false);
    assert!(
        connect["fix"]
            .as_str()
            .unwrap()
            .contains("nats-server --jetstream")
    );
}

#[test]
fn a_url_that_is_not_a_broker_is_bad_input_without_the_password() {
    for url in [
        "http://ann:hunter2@127.0.0.1:4222",
        "nats://ann:hunter2@127.0.0.1:70000",
        "nats://ann:hunter2@",
        "127.0.0.1:4222",
    ] {
        let out = Msgwork::new(&["doctor", "--broker", url]).output();
        out.usage_error("nats://HOST:PORT");
        assert!(!out.stderr.contains("hunter2"), "{url}: {}", out.stderr);
    }
}

#[test]
fn each_server_side_failure_names_its_check_and_what_to_change() {
    let Some(server) = locked_server() else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped each_server_side_failure_names_its_check_and_what_to_change: no nats-server \
             binary; `bash .ci/nats` installs it"
        );
        return;
    };
    let at =
        |user: &str, password: &str| format!("nats://{user}:{password}@127.0.0.1:{}", server.port);
    let doctor = |url: &str| {
        let out = Msgwork::new(&["doctor", "--broker", url, "--json"]).output();
        for secret in [
            "owner-secret-1",
            "reader-secret-2",
            "plain-secret-3",
            "wrong-one",
        ] {
            assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
        }
        out
    };

    doctor(&at("owner", "owner-secret-1")).success();

    let out = doctor(&at("owner", "wrong-one"));
    out.expect_code(1);
    let connect = check(&out.json(), "connect").clone();
    assert_eq!(connect["ok"], false);
    assert!(
        connect["fix"]
            .as_str()
            .unwrap()
            .contains("user and password"),
        "{connect}"
    );

    let out = doctor(&at("plain", "plain-secret-3"));
    out.expect_code(1);
    let jetstream = check(&out.json(), "jetstream").clone();
    assert_eq!(jetstream["ok"], false);
    assert!(
        jetstream["fix"].as_str().unwrap().contains("--jetstream"),
        "{jetstream}"
    );

    let out = doctor(&at("reader", "reader-secret-2"));
    out.expect_code(1);
    let v = out.json();
    assert_eq!(check(&v, "jetstream")["ok"], true);
    let create = check(&v, "create-stream");
    assert_eq!(create["ok"], false);
    assert!(
        create["fix"].as_str().unwrap().contains("$JS.API"),
        "{create}"
    );
}
