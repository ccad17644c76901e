//! Table pieces more than one command shows.
use comfy_table::Color;

use crate::output::Style;
use crate::period::Grant;
use crate::quota::{State, TierSource};
use crate::time::fmt_utc;

/// Colour for a state.
pub fn state_color(s: State) -> Option<Color> {
    match s {
        State::Ok => Some(Color::Green),
        State::ApproachingLimit => Some(Color::Yellow),
        State::OverLimit => Some(Color::Red),
    }
}

/// Title line naming the tier and whether it is a fallback.
pub fn tier_title(org: &str, tier: &str, source: TierSource) -> String {
    if source == TierSource::Default {
        format!("org {org}: tier {tier} (default tier: no tier assigned)")
    } else {
        format!("org {org}: tier {tier}")
    }
}

/// Grants as a table for people.
pub fn grants_table(grants: &[Grant], style: &Style) -> String {
    let mut t = style.table(&[
        "id", "org", "metric", "amount", "period", "reason", "by", "state",
    ]);
    for g in grants {
        let by = match &g.granted_by_os {
            Some(os) => format!("{} ({os})", g.granted_by),
            None => g.granted_by.clone(),
        };
        let state = match (&g.revoked_at, &g.revoked_by) {
            (Some(at), by) => format!(
                "revoked {} by {}: {}",
                fmt_utc(at),
                by.as_deref().unwrap_or("?"),
                g.revoke_reason.as_deref().unwrap_or("")
            ),
            (None, _) => "active".to_string(),
        };
        t.add_row(vec![
            style.cell(g.id, None),
            style.cell(&g.org_id, None),
            style.cell(&g.metric, None),
            style.cell(g.amount, None),
            style.cell(
                format!("[{}, {})", fmt_utc(&g.period_start), fmt_utc(&g.period_end)),
                None,
            ),
            style.cell(&g.reason, None),
            style.cell(by, None),
            style.cell(state, None),
        ]);
    }
    t.to_string()
}
