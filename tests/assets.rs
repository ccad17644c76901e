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
    check("completions", usagectl::cli::assets::write_completions);
}

#[test]
fn man_pages_are_fresh() {
    check("man", usagectl::cli::assets::write_man_pages);
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

/// A man page as `man` shows it: groff at 80 columns, no bold or underline.
fn rendered(page: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man").join(page);
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou", "-rLL=80n"])
        .arg(&path)
        .output()
        .expect("running groff (apt-get install groff-base)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of the paragraph that starts with `heading` in a --help text.
fn help_section(help: &str, heading: &str) -> Vec<String> {
    help.split("\n\n")
        .find(|p| p.starts_with(heading))
        .unwrap_or_else(|| panic!("no {heading} in {help}"))
        .lines()
        .skip(1)
        .map(|l| l.trim().to_string())
        .collect()
}

/// Every example and every exit-code line reads in the rendered page exactly as in
/// `--help` (no reflow, no hyphenation, ASCII quotes and dashes), so that it can be copied.
#[test]
fn man_page_examples_and_exit_status_copy_exactly() {
    let mut checked = 0;
    for (page, args) in [
        ("usagectl.1", vec![]),
        ("usagectl-record.1", vec!["record"]),
        ("usagectl-export.1", vec!["export"]),
        ("usagectl-doctor.1", vec!["doctor"]),
        ("usagectl-tier.1", vec!["tier"]),
        ("usagectl-completions.1", vec!["completions"]),
    ] {
        let help = std::process::Command::new(env!("CARGO_BIN_EXE_usagectl"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let man = rendered(page);
        let man_lines: Vec<&str> = man.lines().map(str::trim).collect();
        for heading in ["Examples:", "Exit codes:"] {
            for line in help_section(&help, heading) {
                assert!(
                    man_lines.contains(&line.as_str()),
                    "{page}: {line:?} is not a line of the rendered page:\n{man}"
                );
                checked += 1;
            }
        }
        for section in ["EXAMPLES", "EXIT STATUS"] {
            let body = man.split(&format!("\n{section}\n")).nth(1).unwrap();
            assert!(body.is_ascii(), "{page} {section}: {body}");
        }
        assert!(!man.contains('\u{2010}'), "{page} is hyphenated: {man}");
    }
    assert!(checked > 40, "{checked}");
}

/// The SYNOPSIS names a command's own options first, in clap's order.
#[test]
fn man_page_synopsis_keeps_the_command_options_together() {
    let man = rendered("usagectl-export.1");
    let synopsis: String = man
        .split("\nSYNOPSIS\n")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        synopsis.starts_with(
            "usagectl export <--month YYYY-MM|--from YYYY-MM|--check MANIFEST> [--to YYYY-MM] [--org ORG] [--raw]"
        ),
        "{synopsis}"
    );
    let at = |s: &str| synopsis.find(s).unwrap();
    assert!(at("[--to YYYY-MM]") < at("--database-url"), "{synopsis}");
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

/// What bash offers for the last word of `line` with the committed completion script.
fn bash_offers(words: &[&str]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/usagectl.bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; _usagectl usagectl '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_event_types_tiers_and_metrics() {
    let events = bash_offers(&["usagectl", "record", "--org", "acme", "--event", ""]);
    assert_eq!(events.len(), 11, "{events:?}");
    for t in [
        "csv_upload",
        "chat_message",
        "export_csv",
        "ai_tokens_output",
    ] {
        assert!(events.iter().any(|e| e == t), "{events:?}");
    }
    assert_eq!(
        bash_offers(&["usagectl", "record", "--event", "ai_t"]),
        ["ai_tokens_input", "ai_tokens_output"]
    );
    let tiers = bash_offers(&["usagectl", "tier", "create", "gold", "--from", ""]);
    assert_eq!(tiers, ["trial", "pilot", "subscription"]);
    let assign = bash_offers(&["usagectl", "tier", "assign", "acme", ""]);
    for t in ["trial", "pilot", "subscription"] {
        assert!(assign.iter().any(|e| e == t), "{assign:?}");
    }
    let metrics = bash_offers(&["usagectl", "tier", "set-limit", "trial", "ai"]);
    assert_eq!(metrics, ["ai_tokens"]);
    let metrics = bash_offers(&["usagectl", "tier", "override", "acme", "chat"]);
    assert_eq!(metrics, ["chat_messages"]);
}

/// Every command's long help, as a user sees it with no usagectl variable set: no
/// `[env: NAME=]` with an empty value, and no argument described by its own name alone
/// ("<SOURCE> The source").
#[test]
fn every_help_names_its_variables_cleanly_and_describes_each_argument() {
    fn walk(cmd: &mut clap::Command, path: String, problems: &mut Vec<String>) {
        let help = cmd.render_long_help().to_string();
        if help.contains("=]") {
            problems.push(format!("{path}: an [env: NAME=] with no value"));
        }
        for arg in cmd.get_arguments() {
            let about = arg
                .get_help()
                .map(|h| h.to_string().to_lowercase())
                .unwrap_or_default();
            let name = arg.get_id().as_str().replace('_', " ");
            if about.is_empty() || about == format!("the {name}") {
                problems.push(format!("{path}: <{}> says only {about:?}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands_mut() {
            let p = format!("{path} {}", sub.get_name());
            walk(sub, p, problems);
        }
    }
    let mut cmd = <usagectl::cli::Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut problems = Vec::new();
    walk(&mut cmd, "usagectl".into(), &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn bash_offers_each_positional_argument_its_own_values() {
    let tiers = ["pilot", "subscription", "trial"];
    let metrics = [
        "ai_tokens",
        "analyses",
        "chat_messages",
        "csv_rows",
        "csv_uploads",
        "mapping_profiles",
    ];
    let offers = |words: &[&str]| {
        let mut v: Vec<String> = bash_offers(words)
            .into_iter()
            .filter(|w| !w.starts_with('-') && !w.is_empty())
            .collect();
        v.sort();
        v
    };
    assert_eq!(offers(&["usagectl", "tier", "set-limit", ""]), tiers);
    assert_eq!(
        offers(&["usagectl", "tier", "set-limit", "enterprise", ""]),
        metrics
    );
    // global options and their values before and inside the subcommand are not positions
    assert_eq!(
        offers(&[
            "usagectl",
            "-d",
            "postgres://x",
            "tier",
            "set-limit",
            "--lock-timeout",
            "2s",
            "enterprise",
            "",
        ]),
        metrics
    );
    assert_eq!(
        offers(&[
            "usagectl",
            "tier",
            "set-limit",
            "enterprise",
            "chat_messages",
            ""
        ]),
        Vec::<String>::new()
    );
    // the org comes first: no tier names for it, then the tiers
    assert_eq!(
        offers(&["usagectl", "tier", "assign", ""]),
        Vec::<String>::new()
    );
    assert_eq!(offers(&["usagectl", "tier", "assign", "acme", ""]), tiers);
}

/// The Quick start names every package the test suite needs: each one `.ci/run` installs.
#[test]
fn the_quick_start_names_every_package_ci_installs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("## Quick start")
        .expect("a Quick start section");
    let end = start
        + readme[start..]
            .find("\n## ")
            .unwrap_or(readme.len() - start);
    let install = readme[start..end]
        .lines()
        .find(|l| l.starts_with("apt-get install "))
        .expect("the Quick start's apt-get install line");
    let named: Vec<&str> = install.split_whitespace().skip(2).collect();
    let mut missing = Vec::new();
    for line in ci.lines().map(str::trim) {
        let Some(args) = line.strip_prefix("apt_install ") else {
            continue;
        };
        for pkg in args.split_whitespace() {
            let pkg = pkg.trim_matches('"').replace("$PG_MAJOR", "15");
            if !named.contains(&pkg.as_str()) {
                missing.push(pkg);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the Quick start does not name {missing:?}"
    );
}
