package sqlite

import "time"

// timeFormat is how the tables of accounts store times: UTC to the
// millisecond, always the same width, so that SQL compares them correctly
// as text. It is what strftime('%Y-%m-%dT%H:%M:%fZ') writes.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeFormat, s) }
