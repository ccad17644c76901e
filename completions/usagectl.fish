# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_usagectl_global_optspecs
    string join \n d/database-url= database-url-file= read-database-url= max-staleness= lock-timeout= statement-timeout= v/verbose o/format= color= h/help V/version
end

function __fish_usagectl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_usagectl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_usagectl_using_subcommand
    set -l cmd (__fish_usagectl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c usagectl -n "__fish_usagectl_needs_command" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_needs_command" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_needs_command" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_needs_command" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_needs_command" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_needs_command" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_needs_command" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_needs_command" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_needs_command" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_needs_command" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "migrate" -d 'Create or adopt the usage_events table and apply the tool\'s additive migrations'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "record" -d 'Record one usage event'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "summary" -d 'Summarise an organisation\'s usage over the last N days'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "limits" -d 'Show an organisation\'s usage in its billing period against its limits'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "status" -d 'Quota status (ok, approaching_limit, over_limit) of one org or all, as an exit code'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "events" -d 'An org\'s raw events, newest first, with filters; --follow prints new ones as they commit'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "top" -d 'The orgs using the most of a metric in their period (or costing the most), with limits'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "price" -d 'AI token prices per model, as a history (USD per million tokens)'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "costs" -d 'What each org\'s AI tokens cost in a month, per model, in exact decimals'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "export" -d 'Export a period\'s usage (totals or raw events) for finance, as CSV, JSON or JSON Lines'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "doctor" -d 'Check the schema and that the rollup agrees with the raw rows (--repair fixes it)'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "archive" -d 'Write whole months to verified archive files and remove their raw rows; restore one'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "partition" -d 'Partition usage_events by month, online; list the partitions; create months ahead'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "maintain" -d 'Fold new events into the rollup (cron, every minute); reports the fold\'s lag'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "tier" -d 'Manage tiers, their limits, org assignments and per-org overrides'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "org" -d 'Set or show an org\'s billing period (anchor day, time zone) and tier'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "grant" -d 'Raise one metric\'s limit for one billing period of an org (support), list, revoke'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "alert" -d 'Usage alerts: threshold rules, decided per billing period, delivered as signed webhooks'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "stripe" -d 'Stripe metered billing: map meters, push usage as meter events exactly once, reconcile'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "demo" -d 'Start (or reuse) a private local PostgreSQL, load a sample month and show a summary'
complete -c usagectl -n "__fish_usagectl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l target-version -d 'Apply the pending steps up to and including this version only (to stage an upgrade; `migrate --status` lists the versions)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l dry-run -d 'Print the SQL that would run, and run nothing'
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l roles -d 'Also create (idempotently) the usage_reader and usage_writer roles, enable the seed\'s RLS policy, and print which command needs which role'
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l status -d 'List every migration with its state (applied, pending, changed after it was applied) and change nothing; exit 3 when one is pending or changed'
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -l allow-pooler -d 'Run even where the connection looks pooled or forwarded (say so only for a port mapping or a session-mode pool: migrate needs one server session throughout)'
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l org -d 'Organisation id (stored exactly as given)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l event -d 'Event type: one of the 11 known types (see --help)' -r -f -a "csv_upload\t''
csv_row_processed\t''
analysis_run\t''
analyzer_execution\t''
chat_message\t''
ai_tokens_input\t''
ai_tokens_output\t''
mapping_profile_created\t''
mapping_profile_used\t''
export_pdf\t''
export_csv\t''"
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l quantity -d 'Units consumed: a positive whole number that fits PostgreSQL\'s integer (negative only with --adjust)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l metadata -d 'A JSON object stored in the metadata column' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l at -d 'When the event happened (RFC 3339, e.g. 2025-12-01T09:30:00Z): from 1970 on, at most 5 minutes ahead' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l idempotency-key -d 'Retry key: recording the same key again for the org stores nothing new' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l reason -d 'Why the correction is made (stored in metadata with who made it)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l file -d 'Record every row of a CSV or JSON Lines file (`-` for stdin), all or nothing' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l input-format -d 'Format of --file (default: from its extension: .csv, .jsonl, .ndjson)' -r -f -a "csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line'"
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l custom-event -d 'Accept event types that are not one of the 11 known ones, on purpose'
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l enforce -d 'Record only within the limits: the event (or, with --file, each org\'s rows as a whole) is refused with exit 4 if it would take a metric past its limit'
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l adjust -d 'A correction: --quantity may be negative; needs --reason'
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -l dry-run -d 'With --file: validate every row and report, record nothing'
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand record" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l org -d 'Organisation id' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l days -d 'Days to look back, 1 to 365' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand summary" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l org -d 'Organisation id' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l month -d 'The billing period that starts in this month, in its zone (the longest when a change of settings starts two; default: the current period)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l at -d 'The billing period that contains this instant (RFC 3339)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand limits" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l org -d 'Organisation id' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l month -d 'The billing period that starts in this month, in its zone (the longest when a change of settings starts two; default: the current period)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l at -d 'The billing period that contains this instant (RFC 3339)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l warn-at -d 'Percentage of a limit at which the status becomes approaching_limit' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l all -d 'Every org with events in the month or a tier assignment'
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -l problems-only -d 'With --all: hide the orgs whose status is ok'
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand status" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l org -d 'Organisation id' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l type -d 'Only this event type (repeatable)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l since -d 'Only events of the last DURATION (90s, 30m, 2h, 7d)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l from -d 'Only events at or after this instant' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l to -d 'Only events before this instant' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l where -d 'Only events whose metadata has KEY with the string VALUE (repeatable)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l limit -d 'How many (the newest)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l interval -d 'With --follow: how often to look for new events' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -l follow -d 'Keep printing new events as they commit, oldest first'
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand events" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l metric -d 'The metric to rank by' -r -f -a "csv_uploads\t'csv_upload events per month'
csv_rows\t'csv_row_processed quantity per month'
analyses\t'analysis_run events per month'
chat_messages\t'chat_message events per month'
ai_tokens\t'ai_tokens_input + ai_tokens_output per month'
mapping_profiles\t'mapping_profile_created, all time up to the end of the month'"
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l by -d 'Rank by AI cost instead' -r -f -a "cost\t'AI cost in the calendar month'"
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l month -d 'The period starting in this month (cost: the calendar month)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l tier -d 'Only orgs on this tier' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l limit -d 'How many' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand top" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -f -a "set" -d 'Set a model\'s price from an instant on'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -f -a "remove" -d 'Take a price set by mistake out of force (it is kept, with who removed it and why)'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and not __fish_seen_subcommand_from set remove list" -f -a "list" -d 'List every price'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l input-per-mtok -d 'USD per million input tokens' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l output-per-mtok -d 'USD per million output tokens' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l from -d 'In force from this day (00:00 UTC) or RFC 3339 instant' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l from -d 'Which of its prices: the day or instant it is in force from (needed when the model has more than one)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l reason -d 'Why (one line; finance reads it later)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -l removed -d 'Also list the prices removed, with who removed them and why'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand price; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l month -d 'The UTC calendar month (default the current one)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l org -d 'Only this org' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l output -d 'Write to this file in the -o format (default csv), with a manifest beside it' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -l force -d 'With --output: replace an existing file'
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand costs" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l month -d 'Month to export, YYYY-MM (UTC)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l from -d 'First month of a range (inclusive)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l to -d 'Last month of a range (inclusive)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l org -d 'Only this organisation' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l output -d 'Write to FILE (atomically, with FILE.manifest.json); `-` or no flag: stdout' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l check -d 'Recompute the period of MANIFEST and list the totals that changed since' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l raw -d 'Every event (id, org_id, event_type, quantity, created_at, metadata) instead of totals'
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l force -d 'Replace an existing FILE'
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l no-formula-escape -d 'Leave text cells as they are (for machine readers, not spreadsheets)'
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -l billing-periods -d 'With --month: one block per org and billing period that starts in the month (in the period\'s zone), with period_start, period_end and time_zone columns'
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand export" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l month -d 'Month whose rollup to recompute, YYYY-MM in UTC (default: the current month)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l org -d 'Only this organisation\'s rollup' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -l repair -d 'Rewrite the rollup rows that disagree with the raw rows, and reinstall usagectl\'s functions dropped after migrate installed them'
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l before -d 'Archive every whole UTC month before this one (at most the current month)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l dir -d 'Where the archive files go (created if missing)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l batch -d 'Rows removed per transaction' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l restore -d 'Put an archived month\'s rows back from its file (a month not archived: nothing to do)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l file -d 'The archive file --restore reads' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l force -d 'Archive months that ended less than 366 days ago too: a `summary` whose window starts inside one of them then exits 5 (it needs that day\'s raw rows)'
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -l list -d 'List the archived months: state, file, rows, who and when'
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand archive" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -f -a "adopt" -d 'Turn usage_events into a table partitioned by month, online (no row moves)'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -f -a "list" -d 'The partitions: their months, estimated rows and size'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and not __fish_seen_subcommand_from adopt list ahead" -f -a "ahead" -d 'Create the partitions of the current month and the three after it where missing (what `maintain` does)'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from adopt" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand partition; and __fish_seen_subcommand_from ahead" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -l max-wait -d 'How long the fold waits for transactions writing usage_events to end (a number with ms, s or min)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -s q -l quiet -d 'Print nothing on success (for cron, which mails any output); errors still go to stderr'
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand maintain" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -f -a "list" -d 'List every tier and its six limits'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -f -a "create" -d 'Create a tier with the limits of another'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -f -a "set-limit" -d 'Set one limit of a tier (-1 = unlimited)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -f -a "assign" -d 'Assign an org to a tier'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -f -a "override" -d 'Override one limit for one org (an enterprise contract), or clear the override'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and not __fish_seen_subcommand_from list create set-limit assign override show" -f -a "show" -d 'Show an org\'s effective limits and where each comes from'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -l from -d 'Tier whose limits to copy' -r -f -a "trial\t''
pilot\t''
subscription\t''"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from set-limit" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -l new-org -d 'Allow an org usagectl has never seen (without it, a typo is refused)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from assign" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l clear -d 'Remove the override: the tier\'s limit applies again'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -l new-org -d 'Allow an org usagectl has never seen (without it, a typo is refused)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from override" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand tier; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -f -a "set" -d 'Set an org\'s anchor day, time zone or tier'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and not __fish_seen_subcommand_from set show" -f -a "show" -d 'Show an org\'s tier, billing settings, current period, grants and any pending change'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l anchor-day -d 'Day of the month the billing period starts on, 1-31' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l time-zone -d 'IANA time zone the period\'s midnights are in (e.g. America/New_York)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l tier -d 'Tier to assign (as `usagectl tier assign`)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l stripe-customer -d 'The org\'s Stripe customer, for `usagectl stripe push` (cus_...)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -l new-org -d 'Allow an org usagectl has never seen (without it, a typo is refused)'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand org; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -f -a "add" -d 'Raise one metric\'s limit for one billing period of an org'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -f -a "list" -d 'List grants (by default those for each org\'s current period)'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and not __fish_seen_subcommand_from add list revoke" -f -a "revoke" -d 'Revoke a grant (recorded, not deleted)'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l reason -d 'Why (kept with the grant; one line)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l period -d 'Which period: current, next, or an RFC 3339 instant inside it' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -l new-org -d 'Allow an org usagectl has never seen (without it, a typo is refused)'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -l all-periods -d 'Every grant of every period, revoked ones included'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -l reason -d 'Why (kept with the revocation; one line)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand grant; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -f -a "add" -d 'Add a rule (prints a generated secret once)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -f -a "list" -d 'List the rules (webhooks masked)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -f -a "remove" -d 'Remove a rule, its states and its deliveries'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -f -a "test" -d 'Send one signed test delivery (type usage.test) to a rule\'s webhook'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -f -a "run" -d 'Decide crossings and resolutions, then deliver what is due (cron)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and not __fish_seen_subcommand_from add list remove test run history" -f -a "history" -d 'Decisions and their deliveries, newest first'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l webhook -d 'Where to POST (https; http only to loopback)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l webhook-file -d 'Read the webhook URL from this file (keeps a token out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l at -d 'A threshold in percent of the limit (repeatable; default 80 and 100)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l metric -d 'A metric to watch (repeatable; default all six)' -r -f -a "csv_uploads\t'csv_upload events per month'
csv_rows\t'csv_row_processed quantity per month'
analyses\t'analysis_run events per month'
chat_messages\t'chat_message events per month'
ai_tokens\t'ai_tokens_input + ai_tokens_output per month'
mapping_profiles\t'mapping_profile_created, all time up to the end of the month'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l org -d 'Only this org' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l tier -d 'Only orgs on this tier' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l body-format -d 'What the POST carries: the signed JSON payload, or Slack\'s {"text": ...} (`--format`/`-o` is every command\'s output format)' -r -f -a "standard\t'The JSON payload, signed per Standard Webhooks'
slack\t'A Slack-compatible `{"text": ...}` (incoming webhooks), signed the same way'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l secret-file -d 'Sign with the whsec_ secret in this file instead of a generated one' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l new-org -d 'With --org: allow an org usagectl has never seen (without it, a typo is refused)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -l allow-insecure-http -d 'Allow plain http:// to a host that is not loopback (alerts travel unencrypted)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l timeout -d 'Most time for one request, connecting included (500ms, 10s, 1m)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l connect-timeout -d 'Most time to connect (and finish the TLS handshake)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l root-cert -d 'Trusted roots for HTTPS webhooks: a PEM file, or `system` (the OS trust store)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l timeout -d 'Most time for one request, connecting included (500ms, 10s, 1m)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l connect-timeout -d 'Most time to connect (and finish the TLS handshake)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l root-cert -d 'Trusted roots for HTTPS webhooks: a PEM file, or `system` (the OS trust store)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l dry-run -d 'Show what would be decided; write and send nothing'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -l quiet -d 'Print nothing when nothing was decided or delivered'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l org -d 'Only this org' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l since -d 'Only decisions since: a duration back from now (90m, 24h, 7d) or an RFC 3339 instant' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l limit -d 'At most this many rows' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand alert; and __fish_seen_subcommand_from history" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -f -a "meter" -d 'Map usage sources to Stripe meters'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -f -a "push" -d 'Send what Stripe has not been sent yet, per org, meter and UTC day (cron)'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and not __fish_seen_subcommand_from meter push reconcile" -f -a "reconcile" -d 'Compare Stripe\'s daily event summaries, the ledger and usagectl\'s usage'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -f -a "add" -d 'Map a metric or an event type to a Stripe meter\'s event name'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -f -a "list" -d 'List the mapped meters'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from meter" -f -a "remove" -d 'Remove a mapping (the ledger of what was sent stays)'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l through -d 'Count usage up to this instant (default now)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l org -d 'Only this org' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l jobs -d 'Streams (customer and meter) sent at once; each sends one request at a time' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l stripe-key-file -d 'Read the API key from this file (else STRIPE_API_KEY)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l api-base -d 'Stripe\'s base URL (a proxy\'s, or a test server\'s)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l timeout -d 'Most time for one request, connecting included' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l connect-timeout -d 'Most time to connect (and finish the TLS handshake)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l root-cert -d 'Trusted roots for HTTPS: a PEM file, or `system`' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l dry-run -d 'Print the events it would send as JSON Lines; write and send nothing'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -l live -d 'Allow a live-mode key (sk_live_, rk_live_): real customers are billed'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from push" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l month -d 'The UTC calendar month (default the current one)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l org -d 'Only this org' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l stripe-key-file -d 'Read the API key from this file (else STRIPE_API_KEY)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l api-base -d 'Stripe\'s base URL (a proxy\'s, or a test server\'s)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l timeout -d 'Most time for one request, connecting included' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l connect-timeout -d 'Most time to connect (and finish the TLS handshake)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l root-cert -d 'Trusted roots for HTTPS: a PEM file, or `system`' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -l live -d 'Allow a live-mode key (sk_live_, rk_live_): real customers are billed'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand stripe; and __fish_seen_subcommand_from reconcile" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l org -d 'Org to show (acme-foods, northwind-plant, globex-trial, initech)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l dir -d 'Directory of the demo cluster' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l month -d 'Load this calendar month (UTC) instead of the 30 days up to now, and show the org\'s limits in it: the same figures every time (the docs use 2026-11)' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -l stop -d 'Stop the demo cluster and exit'
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand demo" -s V -l version -d 'Print version'
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -s d -l database-url -d 'PostgreSQL connection: a postgres:// URL or a libpq key=value string' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -l database-url-file -d 'Read the connection string from a file (keeps it out of the process list)' -r -F
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -l read-database-url -d 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -l max-staleness -d 'Most replay lag, in seconds, at which the read replica is still used' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -l lock-timeout -d 'Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -l statement-timeout -d 'Longest run of one statement, e.g. 30s; 0 = no limit [default: the role\'s setting]' -r
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -s o -l format -d 'Output format [default: table; csv for export]' -r -f -a "table\t'Aligned table for people'
json\t'JSON document (the HTTP API\'s bodies)'
csv\t'CSV with a header row'
jsonl\t'JSON Lines: one JSON object per line (export --raw)'"
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -l color -d 'When to colour table output (never for JSON or CSV)' -r -f -a "auto\t'Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb'
always\t'Always colour tables'
never\t'Never colour'"
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -s v -l verbose -d 'Say on stderr where usagectl connects (never the password)'
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c usagectl -n "__fish_usagectl_using_subcommand completions" -s V -l version -d 'Print version'
