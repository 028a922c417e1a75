package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"1min", time.Minute},
		{"5m", 5 * time.Minute},
		{"90s", 90 * time.Second},
		{"1h 30m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"100ms", 100 * time.Millisecond},
		{"2h", 2 * time.Hour},
		{"1day", 24 * time.Hour},
		{"2days", 48 * time.Hour},
		{"1d 2h 3min 4s", 24*time.Hour + 2*time.Hour + 3*time.Minute + 4*time.Second},
		{"1w", 7 * 24 * time.Hour},
		{"1M", 2_630_016 * time.Second}, // humantime: capital M is a month
		{"1y", 31_557_600 * time.Second},
		{"15 seconds", 15 * time.Second},
		{"3sec", 3 * time.Second},
		{"2hours", 2 * time.Hour},
		{"10us", 10 * time.Microsecond},
		{"10µs", 10 * time.Microsecond},
		{"7ns", 7},
		{"0s", 0},
		{" 30s ", 30 * time.Second},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseDuration(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	cases := []struct{ in, wantInErr string }{
		{"", "empty duration"},
		{"30", "time unit needed"},
		{"3x", `unknown time unit "x"`},
		{"s", "expected a number"},
		{"-5s", "expected a number"},
		{"1.5h", `unknown time unit "."`},
		{"1H", `unknown time unit "H"`},
		{"99999999999999999999s", "too large"},
		{"300y", "too large"},
	}
	for _, c := range cases {
		_, err := ParseDuration(c.in)
		if err == nil {
			t.Errorf("ParseDuration(%q) succeeded, want an error", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("ParseDuration(%q) error %q does not contain %q", c.in, err, c.wantInErr)
		}
	}
}
