package web

import (
	"fmt"
	"html/template"
	"time"
)

// dateLayout is how every page shows a time to a person: "1 Dec 2026,
// 22:15 UTC". Always in UTC, so that two times on a page compare at a
// glance and a page reads the same from any server.
const dateLayout = "2 Jan 2006, 15:04 MST"

// formatDate shows a time to a person, in a <time> element whose datetime
// attribute holds it in RFC 3339 for programs. It takes a time.Time, or an
// RFC 3339 string, as in data.Order; a string that is not one is shown as
// it is.
func formatDate(v any) (template.HTML, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			return template.HTML(template.HTMLEscapeString(v)), nil
		}
	default:
		return "", fmt.Errorf("date: %T is not a time", v)
	}
	t = t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s</time>`,
		t.Format(time.RFC3339), t.Format(dateLayout))), nil
}

// plural counts n of something: plural 1 "time" "times" is "1 time",
// plural 2 "time" "times" is "2 times".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
