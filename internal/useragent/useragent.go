// Package useragent names the browser or program behind a User-Agent
// header, coarsely, for the list of an account's sessions: "Firefox on
// Linux", "Safari on iPhone", "curl".
//
// User-Agent strings are a history of browsers pretending to be other
// browsers (Chrome says Safari, Edge says Chrome and Safari), so the tokens
// are tried from the most specific to the least. The header is whatever
// the client chose to send: the name only helps a person recognise their
// own devices, and never decides anything.
package useragent

import "strings"

// Device returns a coarse name for the client that sent userAgent. The
// name is always made of a fixed set of words, never of text taken from
// the header, so it is safe to show and to store as it is.
func Device(userAgent string) string {
	if name := program(userAgent); name != "" {
		return name
	}
	browser, system := browser(userAgent), system(userAgent)
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "Unknown browser on " + system
	}
	return "Unknown browser"
}

// program names the clients that are not browsers; each puts its name
// first.
func program(ua string) string {
	switch {
	case strings.HasPrefix(ua, "curl/"):
		return "curl"
	case strings.HasPrefix(ua, "Wget/"):
		return "Wget"
	case strings.HasPrefix(ua, "Go-http-client/"):
		return "Go HTTP client"
	case strings.HasPrefix(ua, "python-requests/"), strings.HasPrefix(ua, "Python-urllib/"):
		return "Python"
	}
	return ""
}

// browser tries the most specific names first: every Chromium-based
// browser also says Chrome, and nearly every browser also says Safari.
func browser(ua string) string {
	switch {
	case has(ua, "Edg/", "EdgA/", "EdgiOS/", "Edge/"): // Edge/ is the Edge before Chromium
		return "Edge"
	case has(ua, "OPR/", "OPT/"):
		return "Opera"
	case has(ua, "SamsungBrowser/"):
		return "Samsung Internet"
	case has(ua, "Firefox/", "FxiOS/"):
		return "Firefox"
	case has(ua, "HeadlessChrome/"): // automated browsers, such as chromedp's
		return "Headless Chrome"
	case has(ua, "Chrome/", "CriOS/"): // CriOS is Chrome on iOS
		return "Chrome"
	case has(ua, "Trident/", "MSIE "): // Internet Explorer 11 says only Trident
		return "Internet Explorer"
	case has(ua, "Safari/"):
		return "Safari"
	}
	return ""
}

// system tries iPhone and iPad before macOS, since they say "like Mac OS
// X", and Android before Linux, which Android says too. An iPad since
// iPadOS 13 says Macintosh, by default, and is named macOS.
func system(ua string) string {
	switch {
	case has(ua, "iPhone"):
		return "iPhone"
	case has(ua, "iPad"):
		return "iPad"
	case has(ua, "Android"):
		return "Android"
	case has(ua, "CrOS"):
		return "ChromeOS"
	case has(ua, "Windows"):
		return "Windows"
	case has(ua, "Macintosh", "Mac OS X"):
		return "macOS"
	case has(ua, "Linux"):
		return "Linux"
	}
	return ""
}

// has reports whether ua contains any of tokens.
func has(ua string, tokens ...string) bool {
	for _, t := range tokens {
		if strings.Contains(ua, t) {
			return true
		}
	}
	return false
}
