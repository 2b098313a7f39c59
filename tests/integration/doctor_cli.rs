//! `msgwork doctor`: the machine, and a PostgreSQL server when one is named.

use crate::harness::{Msgwork, postgres};

#[test]
fn without_a_server_it_checks_the_machine_and_says_how_to_add_one() {
    let out = Msgwork::new(&["doctor"]).env_remove("MSGWORK_DB").output();
    out.success();
    assert!(out.stdout.contains("SQLite"), "{}", out.stdout);
    assert!(out.stdout.contains("--db postgres://"), "{}", out.stdout);
    let v = Msgwork::new(&["doctor", "--json"])
        .env_remove("MSGWORK_DB")
        .output()
        .json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["ok"], true);
    assert!(v["postgres"].is_null() && v["db"].is_null());
    let ids: Vec<&str> = v["local"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["data-dir", "sqlite"]);
}

#[test]
fn a_server_that_is_not_there_fails_the_check_with_what_to_do() {
    let out = Msgwork::new(&[
        "doctor",
        "--db",
        "postgres://msgwork:hunter2@127.0.0.1:1/msgwork",
        "--json",
    ])
    .output();
    out.expect_code(1);
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["db"], "postgres://msgwork:***@127.0.0.1:1/msgwork");
    assert!(
        !out.stdout.contains("hunter2"),
        "the password is never printed"
    );
    let connect = &v["postgres"][0];
    assert_eq!(
        (connect["id"].as_str(), connect["ok"].as_bool()),
        (Some("connect"), Some(false))
    );
    assert!(connect["fix"].as_str().unwrap().contains("running"));
}

#[test]
fn a_url_that_is_not_postgres_is_bad_input() {
    Msgwork::new(&["doctor", "--db", "mysql://root:pw@localhost/shop"])
        .output()
        .usage_error("postgres://USER@HOST:PORT/DATABASE");
}

#[test]
fn the_configured_server_is_ready_for_the_labs() {
    let Some(url) = postgres("doctor's server check") else {
        return;
    };
    let v = Msgwork::new(&["doctor", "--db", &url, "--json"])
        .output()
        .success()
        .json();
    let checks = v["postgres"].as_array().unwrap();
    for c in checks {
        assert_eq!(c["ok"], true, "{c}");
    }
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "connect",
            "version",
            "create-tables",
            "wal-level",
            "slots",
            "replication-role",
            "decoding"
        ]
    );
}
