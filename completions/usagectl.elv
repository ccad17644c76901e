
use builtin;
use str;

set edit:completion:arg-completer[usagectl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'usagectl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'usagectl'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Create or adopt the usage_events table and apply the tool''s additive migrations'
            cand record 'Record one usage event'
            cand summary 'Summarise an organisation''s usage over the last N days'
            cand limits 'Show an organisation''s month usage against its tier''s limits'
            cand status 'Quota status (ok, approaching_limit, over_limit) of one org or all, as an exit code'
            cand export 'Export a period''s usage (totals or raw events) for finance, as CSV, JSON or JSON Lines'
            cand tier 'Manage tiers, their limits, org assignments and per-org overrides'
            cand demo 'Start (or reuse) a private local PostgreSQL, load a sample month and show a summary'
            cand completions 'Print a shell completion script'
        }
        &'usagectl;migrate'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand --dry-run 'Print the SQL that would run, and run nothing'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;record'= {
            cand --org 'Organisation id (stored exactly as given)'
            cand --event 'Event type: one of the 11 known types (see --help)'
            cand --quantity 'Units consumed: a positive whole number that fits PostgreSQL''s integer (negative only with --adjust)'
            cand --metadata 'A JSON object stored in the metadata column'
            cand --at 'When the event happened (RFC 3339, e.g. 2025-12-01T09:30:00Z); at most 5 minutes ahead'
            cand --idempotency-key 'Retry key: recording the same key again for the org stores nothing new'
            cand --reason 'Why the correction is made (stored in metadata with who made it)'
            cand --file 'Record every row of a CSV or JSON Lines file (`-` for stdin), all or nothing'
            cand --input-format 'Format of --file (default: from its extension: .csv, .jsonl, .ndjson)'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand --custom-event 'Accept event types that are not one of the 11 known ones, on purpose'
            cand --enforce 'Record only within the limits: the event (or, with --file, each org''s rows as a whole) is refused with exit 4 if it would take a metric past its limit'
            cand --adjust 'A correction: --quantity may be negative; needs --reason'
            cand --dry-run 'With --file: validate every row and report, record nothing'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;summary'= {
            cand --org 'Organisation id'
            cand --days 'Days to look back, 1 to 365'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;limits'= {
            cand --org 'Organisation id'
            cand --month 'Month to count, YYYY-MM in UTC (default: the current month)'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;status'= {
            cand --org 'Organisation id'
            cand --month 'Month to check, YYYY-MM in UTC (default: the current month)'
            cand --warn-at 'Percentage of a limit at which the status becomes approaching_limit'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand --all 'Every org with events in the month or a tier assignment'
            cand --problems-only 'With --all: hide the orgs whose status is ok'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;export'= {
            cand --month 'Month to export, YYYY-MM (UTC)'
            cand --from 'First month of a range (inclusive)'
            cand --to 'Last month of a range (inclusive)'
            cand --org 'Only this organisation'
            cand --output 'Write to FILE (atomically, with FILE.manifest.json); `-` or no flag: stdout'
            cand --check 'Recompute the period of MANIFEST and list the totals that changed since'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand --raw 'Every event (id, org_id, event_type, quantity, created_at, metadata) instead of totals'
            cand --force 'Replace an existing FILE'
            cand --no-formula-escape 'Leave text cells as they are (for machine readers, not spreadsheets)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;tier'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List every tier and its six limits'
            cand create 'Create a tier with the limits of another'
            cand set-limit 'Set one limit of a tier (-1 = unlimited)'
            cand assign 'Assign an org to a tier'
            cand override 'Override one limit for one org (an enterprise contract), or clear the override'
            cand show 'Show an org''s effective limits and where each comes from'
        }
        &'usagectl;tier;list'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;tier;create'= {
            cand --from 'Tier whose limits to copy'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;tier;set-limit'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;tier;assign'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;tier;override'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand --clear 'Remove the override: the tier''s limit applies again'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;tier;show'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;demo'= {
            cand --org 'Org whose summary to show (acme-foods, northwind-plant, globex-trial, initech)'
            cand --dir 'Directory of the demo cluster'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand --stop 'Stop the demo cluster and exit'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'usagectl;completions'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format [default: table; csv for export]'
            cand --format 'Output format [default: table; csv for export]'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
