//! Completion scripts and man pages, generated from the clap tree. The committed copies
//! under `completions/` and `man/` are checked for staleness by `tests/assets.rs`.
//!
//! clap_mangen renders the title, name, description, options and subcommands; the
//! SYNOPSIS and the sections taken from `after_long_help` are rendered here. The SYNOPSIS
//! lists a command's own options in clap's order, then the global ones (clap_mangen sorts
//! both together by declaration index and puts required options last). `after_long_help`
//! becomes NOTES (its prose, not hyphenated), then one section per "Heading:" paragraph
//! (EXAMPLES, CONNECTING, ...) and EXIT STATUS, each preformatted (`.EX`/`.EE`) so that a
//! line reads and copies exactly as in `--help`.
use std::path::Path;

use anyhow::{Context, Result};
use clap::{Arg, ArgAction, Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};

use crate::cli::Cli;

/// Shells whose scripts are committed under `completions/`.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];

/// Tiers `migrate` creates. Any other name is a valid tier too: these are only offered.
pub const SEEDED_TIERS: [&str; 3] = ["trial", "pilot", "subscription"];

/// The clap tree as the completion scripts see it: the parsing tree plus the values to
/// offer where the parser takes any text: the 11 event types for `record --event` (a
/// custom type needs `--custom-event`) and the seeded tiers where a tier is named. Only
/// the generators see this tree; `cli::parse` never does, so no value is refused that was
/// accepted before. (Metrics are a `ValueEnum`, offered already.)
pub fn completion_command() -> Command {
    let cmd = Cli::command();
    let cmd = offer(cmd, &["record"], "event", &crate::events::EVENT_TYPES);
    let cmd = offer(cmd, &["tier", "create"], "from", &SEEDED_TIERS);
    let cmd = offer(cmd, &["tier", "set-limit"], "tier", &SEEDED_TIERS);
    offer(cmd, &["tier", "assign"], "tier", &SEEDED_TIERS)
}

/// `cmd` with `values` offered for argument `arg` of the subcommand at `path`, everything
/// else (the order of subcommands and arguments included) left as it is.
fn offer(cmd: Command, path: &[&str], arg: &str, values: &'static [&'static str]) -> Command {
    match path.split_first() {
        Some((first, rest)) => cmd.mut_subcommands(|sub| {
            if sub.get_name() == *first {
                offer(sub, rest, arg, values)
            } else {
                sub
            }
        }),
        None => cmd.mut_args(|a| {
            if a.get_id() == arg {
                a.value_parser(clap::builder::PossibleValuesParser::new(values))
            } else {
                a
            }
        }),
    }
}

/// The completion script for one shell.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = completion_command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "usagectl", &mut buf);
    if shell == Shell::Bash {
        cmd.build();
        return bash_by_position(&String::from_utf8_lossy(&buf), &cmd).into_bytes();
    }
    buf
}

/// Write every completion script into `dir`.
pub fn write_completions(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for shell in SHELLS {
        let path = dir.join(clap_complete::Generator::file_name(&shell, "usagectl"));
        std::fs::write(&path, completion(shell))
            .with_context(|| format!("writing the {shell} completion into {}", path.display()))?;
    }
    Ok(())
}

/// The bash function that tells which positional argument of a subcommand is being typed:
/// it walks the words, skipping options and the value of each option that takes one, and
/// counts the words after the subcommand's own names.
const BASH_POSITIONAL: &str = r#"
# usagectl: the index of the positional argument being completed, for the subcommand whose
# names are $1, given the options that take a value in $2
__usagectl_positional() {
    local path=($1) i=1 k=0 n=0 w
    while [[ $i -lt ${COMP_CWORD} ]]; do
        w=${COMP_WORDS[i]}
        if [[ $w == -* ]]; then
            [[ $w != *=* && " $2 " == *" $w "* ]] && i=$((i+1))
        elif [[ $k -lt ${#path[@]} ]]; then
            [[ $w == "${path[k]}" ]] && k=$((k+1))
        else
            n=$((n+1))
        fi
        i=$((i+1))
    done
    echo $n
}
"#;

/// clap_complete's bash script offers the values of every positional argument of a
/// subcommand at every position (`tier set-limit enterprise <TAB>` offered tier names
/// beside the metrics). Make each subcommand whose positionals have values offer only the
/// values of the positional being typed ([`BASH_POSITIONAL`]); zsh and fish already do.
fn bash_by_position(script: &str, root: &Command) -> String {
    let mut out = script.to_string();
    let mut subs = Vec::new();
    collect_subcommands(root, &mut Vec::new(), &mut subs);
    for (path, cmd) in subs {
        let positionals: Vec<Vec<String>> = cmd
            .get_positionals()
            .map(|a| {
                a.get_possible_values()
                    .iter()
                    .filter(|v| !v.is_hide_set())
                    .map(|v| v.get_name().to_string())
                    .collect()
            })
            .collect();
        if positionals.iter().all(Vec::is_empty) {
            continue;
        }
        let arm = format!(
            "        {})\n            opts=\"",
            std::iter::once("usagectl")
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("__")
                .replace('-', "__")
                .replace("__", "__subcmd__")
        );
        let Some(start) = out.find(&arm).map(|i| i + arm.len()) else {
            continue;
        };
        let Some(len) = out[start..].find('"') else {
            continue;
        };
        let values: Vec<&String> = positionals.iter().flatten().collect();
        let kept: Vec<&str> = out[start..start + len]
            .split(' ')
            .filter(|w| !values.iter().any(|v| v.as_str() == *w))
            .collect();
        let takes_value: Vec<String> = cmd
            .get_arguments()
            .filter(|a| !a.is_positional() && a.get_num_args().is_none_or(|n| n.takes_values()))
            .filter(|a| matches!(a.get_action(), ArgAction::Set | ArgAction::Append))
            .flat_map(|a| {
                a.get_long()
                    .map(|l| format!("--{l}"))
                    .into_iter()
                    .chain(a.get_short().map(|s| format!("-{s}")))
            })
            .collect();
        let mut cases = String::new();
        for (i, vals) in positionals
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
        {
            cases.push_str(&format!(
                "                {i}) opts=\"$opts {}\" ;;\n",
                vals.join(" ")
            ));
        }
        let replacement = format!(
            "{}\"\n            case $(__usagectl_positional \"{}\" \"{}\") in\n{cases}            esac",
            kept.join(" "),
            path.join(" "),
            takes_value.join(" ")
        );
        out.replace_range(start..start + len + 1, &replacement);
    }
    match out.find("\n_usagectl() {") {
        Some(i) => out.insert_str(i, BASH_POSITIONAL),
        None => out.push_str(BASH_POSITIONAL),
    }
    out
}

/// Every subcommand below `cmd` with its path of names.
fn collect_subcommands<'a>(
    cmd: &'a Command,
    path: &mut Vec<String>,
    into: &mut Vec<(Vec<String>, &'a Command)>,
) {
    for sub in cmd.get_subcommands() {
        path.push(sub.get_name().to_string());
        into.push((path.clone(), sub));
        collect_subcommands(sub, path, into);
        path.pop();
    }
}

/// Write one man page per command (`usagectl.1`, `usagectl-record.1`, ...) into `dir`.
pub fn write_man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    for (name, page) in man_pages(&cmd) {
        let path = dir.join(name);
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Every man page of a built command tree: (file name, roff text).
fn man_pages(cmd: &Command) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.extend(man_pages(sub));
    }
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    pages.push((format!("{name}.1"), man_page(cmd)));
    pages
}

/// One man page: clap_mangen's, with our SYNOPSIS and after-help sections.
pub fn man_page(cmd: &Command) -> String {
    let mut buf = Vec::new();
    // rendering into a Vec cannot fail
    let _ = clap_mangen::Man::new(cmd.clone()).render(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            skipping = false;
            match heading {
                "SYNOPSIS" => {
                    out.push_str(&fragment(|r| synopsis(r, cmd)));
                    skipping = true;
                    continue;
                }
                "EXTRA" => {
                    out.push_str(&fragment(|r| after_help(r, cmd)));
                    skipping = true;
                    continue;
                }
                _ => {}
            }
        }
        if skipping {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line.starts_with(".TH ") {
            // words such as analyzer_execution or --idempotency-key are never hyphenated,
            // and lines are not stretched to the right margin
            out.push_str(".nh\n.ad l\n");
        }
    }
    out
}

/// Roff text written by `f`, without the preamble roff puts before every document (the
/// page has it once already, from clap_mangen).
fn fragment(f: impl FnOnce(&mut Roff)) -> String {
    let mut roff = Roff::default();
    f(&mut roff);
    // NBSP (from option_words) becomes roff's unbreakable space: `--quantity N` stays whole
    let text = roff.render().replace('\u{a0}', "\\ ");
    let mut lines = text.lines().peekable();
    while lines
        .peek()
        .is_some_and(|l| l.starts_with(".ie \\n(.g") || l.starts_with(".el .ds Aq"))
    {
        lines.next();
    }
    let mut out = String::new();
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `usagectl record [--org ORG] [--event TYPE] ... [-h|--help] [-V|--version] [-d|--database-url URL] ...`:
/// the command's own options in clap's order, its help and version, its arguments, then the
/// global options; a required group as `<--month YYYY-MM|--from YYYY-MM|...>`.
fn synopsis(roff: &mut Roff, cmd: &Command) {
    roff.control("SH", ["SYNOPSIS"]);
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut line = vec![bold(name)];
    let groups: Vec<Vec<&Arg>> = cmd
        .get_groups()
        .filter(|g| g.is_required_set())
        .map(|g| {
            cmd.get_groups()
                .find(|x| x.get_id() == g.get_id())
                .map(|g| {
                    g.get_args()
                        .filter_map(|id| cmd.get_arguments().find(|a| a.get_id() == id))
                        .collect()
                })
                .unwrap_or_default()
        })
        .filter(|m: &Vec<&Arg>| !m.is_empty())
        .collect();
    let visible = |a: &&Arg| !a.is_hide_set();
    let builtin = |a: &Arg| {
        matches!(
            a.get_action(),
            ArgAction::Help | ArgAction::Version | ArgAction::HelpLong | ArgAction::HelpShort
        )
    };
    let own: Vec<&Arg> = cmd
        .get_arguments()
        .filter(visible)
        .filter(|a| !a.is_positional() && !a.is_global_set() && !builtin(a))
        .collect();
    let mut done_groups = vec![false; groups.len()];
    for arg in &own {
        match groups
            .iter()
            .position(|g| g.iter().any(|m| m.get_id() == arg.get_id()))
        {
            Some(i) if !done_groups[i] => {
                done_groups[i] = true;
                line.push(roman(" <"));
                for (n, m) in groups[i].iter().enumerate() {
                    if n > 0 {
                        line.push(roman("|"));
                    }
                    line.extend(option_words(m));
                }
                line.push(roman(">"));
            }
            Some(_) => {}
            None => {
                let required = arg.is_required_set();
                line.push(roman(if required { " " } else { " [" }));
                line.extend(option_words(arg));
                if !required {
                    line.push(roman("]"));
                }
            }
        }
    }
    for arg in cmd
        .get_arguments()
        .filter(visible)
        .filter(|a| builtin(a) && !a.is_global_set())
    {
        line.push(roman(" ["));
        line.extend(option_words(arg));
        line.push(roman("]"));
    }
    for arg in cmd.get_positionals().filter(visible) {
        let value = arg
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| arg.get_id().to_string());
        let (l, r) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        line.push(roman(format!(" {l}")));
        line.push(italic(value));
        line.push(roman(r));
    }
    for arg in cmd
        .get_arguments()
        .filter(visible)
        .filter(|a| a.is_global_set() && !a.is_positional())
    {
        line.push(roman(" ["));
        line.extend(option_words(arg));
        line.push(roman("]"));
    }
    if cmd.has_subcommands() {
        line.push(roman(" <"));
        line.push(italic("COMMAND"));
        line.push(roman(">"));
    }
    roff.text(line);
}

/// `-d|--database-url URL` (bold flags, italic value name).
fn option_words(arg: &Arg) -> Vec<Inline> {
    let mut words = Vec::new();
    match (arg.get_short(), arg.get_long()) {
        (Some(s), Some(l)) => {
            words.push(bold(format!("-{s}")));
            words.push(roman("|"));
            words.push(bold(format!("--{l}")));
        }
        (Some(s), None) => words.push(bold(format!("-{s}"))),
        (None, Some(l)) => words.push(bold(format!("--{l}"))),
        (None, None) => {}
    }
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values())
        && matches!(arg.get_action(), ArgAction::Set | ArgAction::Append);
    if takes_value {
        let value = arg
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
        words.push(roman("\u{a0}"));
        words.push(italic(value));
    }
    words
}

/// One paragraph of `after_long_help`.
enum Block<'a> {
    /// Prose, reflowed.
    Prose(Vec<&'a str>),
    /// "Heading:" then indented lines, kept as they are.
    Section(&'a str, Vec<&'a str>),
}

/// Split `after_long_help` into paragraphs: one whose first line is `Heading:` alone is a
/// section, kept line for line; any other is prose.
fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let lines: Vec<&str> = para.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some(first) = lines.first() else {
            continue;
        };
        match first.strip_suffix(':') {
            Some(h) if !h.starts_with(' ') && !h.contains(':') && lines.len() > 1 => {
                out.push(Block::Section(h, lines[1..].to_vec()));
            }
            _ => out.push(Block::Prose(lines)),
        }
    }
    out
}

/// The man-page name of a `Heading:` paragraph.
fn section_name(heading: &str) -> String {
    match heading {
        "Exit codes" => "EXIT STATUS".to_string(),
        h => h.to_uppercase(),
    }
}

/// NOTES (the prose paragraphs), then each `Heading:` paragraph as its own preformatted
/// section, EXIT STATUS last.
fn after_help(roff: &mut Roff, cmd: &Command) {
    let Some(text) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) else {
        return;
    };
    let text = text.to_string();
    let blocks = blocks(&text);
    let mut first_prose = true;
    for b in &blocks {
        if let Block::Prose(lines) = b {
            if first_prose {
                roff.control("SH", ["NOTES"]);
                first_prose = false;
            } else {
                roff.control("PP", []);
            }
            for l in lines {
                roff.text([roman(l.trim())]);
            }
        }
    }
    let sections = blocks.iter().filter_map(|b| match b {
        Block::Section(h, lines) => Some((section_name(h), lines)),
        Block::Prose(_) => None,
    });
    let (exit, other): (Vec<_>, Vec<_>) = sections.partition(|(name, _)| name == "EXIT STATUS");
    for (name, lines) in other.into_iter().chain(exit) {
        roff.control("SH", [name.as_str()]);
        let indent = lines
            .iter()
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        roff.control("EX", []);
        for l in lines.iter() {
            roff.text([roman(&l[indent..])]);
        }
        roff.control("EE", []);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(path: &[&str]) -> String {
        let mut cmd = Cli::command().disable_help_subcommand(true);
        cmd.build();
        let mut c = &cmd;
        for p in path {
            c = c.find_subcommand(p).unwrap();
        }
        man_page(c)
    }

    /// The offered values are for completion only: parsing still takes any event type
    /// (with --custom-event) and any tier name.
    #[test]
    fn completion_values_do_not_restrict_parsing() {
        use clap::Parser;
        for args in [
            &[
                "record",
                "--org",
                "a",
                "--event",
                "webhook_call",
                "--custom-event",
            ][..],
            &["tier", "assign", "acme", "enterprise"],
            &["tier", "create", "gold", "--from", "enterprise"],
            &["tier", "set-limit", "enterprise", "ai_tokens", "5"],
        ] {
            let argv = std::iter::once("usagectl").chain(args.iter().copied());
            assert!(Cli::try_parse_from(argv).is_ok(), "{args:?}");
        }
        let mut c = completion_command();
        c.build();
        let record = c.find_subcommand("record").unwrap();
        let event = record
            .get_arguments()
            .find(|a| a.get_id() == "event")
            .unwrap();
        assert_eq!(event.get_possible_values().len(), 11);
    }

    /// The tiers offered are the ones migrate seeds.
    #[test]
    fn seeded_tiers_are_the_ones_migrate_creates() {
        let values: Vec<String> = SEEDED_TIERS.iter().map(|t| format!("('{t}')")).collect();
        let insert = format!(
            "INSERT INTO usagectl_tiers (name) VALUES {}",
            values.join(", ")
        );
        assert!(
            crate::db::schema::STEPS
                .iter()
                .any(|s| s.sql.contains(&insert)),
            "{insert}"
        );
    }

    #[test]
    fn synopsis_lists_own_options_in_clap_order_then_global_ones() {
        let p = page(&["export"]);
        let syn = p
            .lines()
            .skip_while(|l| *l != ".SH SYNOPSIS")
            .nth(1)
            .unwrap();
        let at = |s: &str| syn.find(s).unwrap_or_else(|| panic!("{s} in {syn}"));
        assert!(at(r"\-\-from") < at(r"\-\-to\fR"), "{syn}");
        assert!(at(r"\-\-to\fR") < at(r"\-\-org"), "{syn}");
        assert!(at(r"\-\-check") < at(r"\-\-help"), "{syn}");
        assert!(at(r"\-\-help") < at(r"\-\-database\-url"), "{syn}");
        assert!(syn.contains(r"[\fB\-\-org\fR\ \fIORG\fR]"), "{syn}");
        assert!(syn.contains(r"<\fB\-\-month\fR\ \fIYYYY\-MM\fR|"), "{syn}");
        let p = page(&["tier", "assign"]);
        assert!(p.contains(r"\fBusagectl tier assign\fR"), "{p}");
        assert!(p.contains(r"<\fIORG\fR> <\fITIER\fR>"), "{p}");
    }

    #[test]
    fn examples_and_exit_status_are_preformatted() {
        let p = page(&["record"]);
        let ex = p.split(".SH EXAMPLES\n").nth(1).unwrap();
        assert!(ex.starts_with(".EX\n"), "{ex}");
        let ex = &ex[..ex.find(".EE\n").unwrap()];
        assert!(
            ex.contains(r"    \-\-metadata \*(Aq{"),
            "kept with its indent: {ex}"
        );
        let exit = p.split(".SH \"EXIT STATUS\"\n").nth(1).unwrap();
        assert!(exit.starts_with(".EX\n0  success\n"), "{exit}");
        assert!(p.contains(".nh\n"), "no hyphenation");
        assert!(!p.contains(".SH EXTRA"));
    }
}
