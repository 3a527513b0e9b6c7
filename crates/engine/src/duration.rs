//! Go's `time.Duration.String()` for whole seconds, as upstream prints ban times.

use std::time::Duration;

/// Formats `duration` rounded to whole seconds the way Go prints a duration
/// after `Round(time.Second)`: `30m0s`, `29m59s`, `59s`, `1h0m0s`, `0s`.
///
/// Go rounds halfway values away from zero, so 1.5 s prints as `2s`.
pub fn format_go_seconds(duration: Duration) -> String {
    let mut seconds = duration.as_secs();
    if duration.subsec_nanos() >= 500_000_000 {
        seconds += 1;
    }
    let hours = seconds / 3600;
    let minutes = (seconds % 3600) / 60;
    let secs = seconds % 60;
    if hours > 0 {
        format!("{hours}h{minutes}m{secs}s")
    } else if minutes > 0 {
        format!("{minutes}m{secs}s")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_minutes_keep_zero_seconds() {
        assert_eq!(format_go_seconds(Duration::from_secs(30 * 60)), "30m0s");
    }

    #[test]
    fn minutes_and_seconds() {
        assert_eq!(
            format_go_seconds(Duration::from_secs(29 * 60 + 59)),
            "29m59s"
        );
    }

    #[test]
    fn seconds_only() {
        assert_eq!(format_go_seconds(Duration::from_secs(59)), "59s");
        assert_eq!(format_go_seconds(Duration::ZERO), "0s");
    }

    #[test]
    fn hours_print_all_units() {
        assert_eq!(format_go_seconds(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_seconds(Duration::from_secs(3661)), "1h1m1s");
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(format_go_seconds(Duration::from_millis(1499)), "1s");
        assert_eq!(format_go_seconds(Duration::from_millis(1500)), "2s");
        assert_eq!(format_go_seconds(Duration::from_millis(1_799_600)), "30m0s");
        assert_eq!(format_go_seconds(Duration::from_millis(400)), "0s");
    }
}
