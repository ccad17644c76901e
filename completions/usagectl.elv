
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
            cand -o 'Output format'
            cand --format 'Output format'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Create or adopt the usage_events table and apply the tool''s additive migrations'
            cand record 'Record one usage event'
            cand summary 'Summarise an organisation''s usage over the last N days'
            cand demo 'Start (or reuse) a private local PostgreSQL, load a sample month and show a summary'
            cand completions 'Print a shell completion script'
        }
        &'usagectl;migrate'= {
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format'
            cand --format 'Output format'
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
            cand --quantity 'Units consumed: a positive whole number that fits PostgreSQL''s integer'
            cand --metadata 'A JSON object stored in the metadata column'
            cand --at 'When the event happened (RFC 3339, e.g. 2025-12-01T09:30:00Z); at most 5 minutes ahead'
            cand --idempotency-key 'Retry key: recording the same key again for the org stores nothing new'
            cand -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand --database-url 'PostgreSQL connection: a postgres:// URL or a libpq key=value string'
            cand -o 'Output format'
            cand --format 'Output format'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand --custom-event 'Accept an event type that is not one of the 11 known ones, on purpose'
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
            cand -o 'Output format'
            cand --format 'Output format'
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
            cand -o 'Output format'
            cand --format 'Output format'
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
            cand -o 'Output format'
            cand --format 'Output format'
            cand --color 'When to colour table output (never for JSON or CSV)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
