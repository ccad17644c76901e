//! completions/ and man/ are generated from the clap tree and committed; this fails when
//! they are stale. Regenerate with `USAGECTL_REGENERATE=1 cargo test --test assets`.
use std::collections::BTreeMap;
use std::path::Path;

fn read_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check(name: &str, generate: fn(&Path) -> anyhow::Result<()>) {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    if std::env::var_os("USAGECTL_REGENERATE").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        generate(&committed).unwrap();
    }
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path()).unwrap();
    let want = read_dir(fresh.path());
    let have = read_dir(&committed);
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{name}/ is stale: run `USAGECTL_REGENERATE=1 cargo test --test assets`"
    );
    for (file, bytes) in &want {
        assert!(
            have[file] == *bytes,
            "{name}/{file} is stale: run `USAGECTL_REGENERATE=1 cargo test --test assets`"
        );
    }
}

#[test]
fn completions_are_fresh() {
    check("completions", usagectl::assets::write_completions);
}

#[test]
fn man_pages_are_fresh() {
    check("man", usagectl::assets::write_man_pages);
}

#[test]
fn completions_subcommand_prints_the_committed_script() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_usagectl"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/usagectl.bash"))
            .unwrap();
    assert!(
        out.stdout == committed,
        "`usagectl completions bash` differs from completions/usagectl.bash"
    );
}

#[test]
fn man_pages_carry_exit_codes_and_examples() {
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("man/usagectl-record.1"),
    )
    .unwrap();
    assert!(page.contains("Exit codes:"), "{page}");
    assert!(page.contains("\\-\\-idempotency\\-key"), "{page}");
    assert!(page.contains("Examples:"));
}

#[test]
fn no_subcommand_shows_the_help_and_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_usagectl"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Usage: usagectl [OPTIONS] <COMMAND>"), "{err}");
    assert!(err.lines().count() > 10, "the help keeps its layout: {err}");
}
