package useragent_test

import (
	"strings"
	"testing"

	"example.com/gosessions/internal/useragent"
)

func TestDevice(t *testing.T) {
	tests := []struct{ ua, want string }{
		// Firefox
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:129.0) Gecko/20100101 Firefox/129.0", "Firefox on macOS"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:129.0) Gecko/129.0 Firefox/129.0", "Firefox on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/130.1 Mobile/15E148 Safari/605.1.15", "Firefox on iPhone"},

		// Chrome
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on macOS"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.6533.103 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/127.0.6533.107 Mobile/15E148 Safari/604.1", "Chrome on iPhone"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on ChromeOS"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Headless Chrome on Linux"},
		// An Android app's web view says Chrome.
		{"Mozilla/5.0 (Linux; Android 6.0.1; CPH1607 Build/MMB29M; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/63.0.3239.111 Mobile Safari/537.36", "Chrome on Android"},

		// Safari
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1", "Safari on iPad"},

		// Edge, Opera, Samsung Internet, which also say Chrome and Safari
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36 Edg/127.0.2651.98", "Edge on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36 Edg/127.0.2651.98", "Edge on macOS"},
		{"Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.6533.103 Mobile Safari/537.36 EdgA/127.0.2651.90", "Edge on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/127.2651.102 Mobile/15E148 Safari/605.1.15", "Edge on iPhone"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582", "Edge on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0", "Opera on Windows"},
		{"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"},

		// Internet Explorer
		{"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer on Windows"},
		{"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)", "Internet Explorer on Windows"},

		// Programs
		{"curl/8.5.0", "curl"},
		{"Wget/1.21.4", "Wget"},
		{"Go-http-client/1.1", "Go HTTP client"},
		{"Go-http-client/2.0", "Go HTTP client"},
		{"python-requests/2.32.3", "Python"},
		{"Python-urllib/3.12", "Python"},

		// What cannot be named
		{"", "Unknown browser"},
		{"Mozilla/5.0", "Unknown browser"},
		{"Mozilla/5.0 (X11; Linux x86_64)", "Unknown browser on Linux"},
		// An iOS app's web view names no browser.
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Unknown browser on iPhone"},
		{"<script>alert(1)</script>", "Unknown browser"},
		{"my curl/8.5.0", "Unknown browser"}, // curl names itself first
	}
	for _, tt := range tests {
		t.Run(tt.want+" from "+tt.ua, func(t *testing.T) {
			if got := useragent.Device(tt.ua); got != tt.want {
				t.Errorf("Device(%q): got %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}

func TestDeviceNeverRepeatsTheHeader(t *testing.T) {
	// Whatever the header holds, the name is made of known words only.
	words := map[string]bool{}
	for _, w := range strings.Fields(`Unknown browser on curl Wget Go HTTP client Python Edge Opera
		Samsung Internet Firefox Headless Chrome Explorer Safari iPhone iPad Android ChromeOS
		Windows macOS Linux`) {
		words[w] = true
	}
	for _, ua := range []string{
		"Firefox/1 <img src=x onerror=alert(1)>",
		"Mozilla/5.0 (Linux; Android 14; \"><b>Evil</b>) Chrome/1",
		strings.Repeat("A", 10000),
		"\x00\xff\xfe",
		"Edg/ Trident/ Safari/ iPhone Android Linux Windows",
	} {
		for _, w := range strings.Fields(useragent.Device(ua)) {
			if !words[w] {
				t.Errorf("Device(%.40q): got %q, which is not a known word", ua, w)
			}
		}
	}
}
