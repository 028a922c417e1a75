package config

import (
	"fmt"
	"math"
	"strings"
	"time"
)

const day = 24 * time.Hour

// durationUnits are the unit names of Rust's humantime, which the original config used, so a
// config file written for the original keeps its meaning. Units are case sensitive: "M" is a
// month and "m" a minute.
var durationUnits = map[string]time.Duration{
	"nsec": time.Nanosecond, "ns": time.Nanosecond, "nanos": time.Nanosecond,
	"usec": time.Microsecond, "us": time.Microsecond, "µs": time.Microsecond, "micros": time.Microsecond,
	"msec": time.Millisecond, "ms": time.Millisecond, "millis": time.Millisecond,
	"seconds": time.Second, "second": time.Second, "secs": time.Second, "sec": time.Second, "s": time.Second,
	"minutes": time.Minute, "minute": time.Minute, "mins": time.Minute, "min": time.Minute, "m": time.Minute,
	"hours": time.Hour, "hour": time.Hour, "hrs": time.Hour, "hr": time.Hour, "h": time.Hour,
	"days": day, "day": day, "d": day,
	"weeks": 7 * day, "week": 7 * day, "w": 7 * day,
	// humantime's month and year are 30.44 and 365.25 days.
	"months": 2_630_016 * time.Second, "month": 2_630_016 * time.Second, "M": 2_630_016 * time.Second,
	"years": 31_557_600 * time.Second, "year": 31_557_600 * time.Second, "y": 31_557_600 * time.Second,
}

// ParseDuration parses a humantime duration such as "30s", "1min", "90s", "1h 30m", "100ms" or
// "1day": one or more <integer><unit> parts, optionally separated by spaces, which are summed.
func ParseDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("empty duration: want a number with a unit, such as \"30s\" or \"1min\"")
	}
	var total time.Duration
	for rest != "" {
		part, n, unit, tail, err := nextDurationPart(rest)
		if err != nil {
			return 0, err
		}
		mult, ok := durationUnits[unit]
		if !ok {
			return 0, fmt.Errorf("unknown time unit %q in %q: want ns, us, ms, s, min (or m), h, day (or d), w, M or y", unit, part)
		}
		if n > uint64(math.MaxInt64/int64(mult)) || total > math.MaxInt64-time.Duration(n)*mult {
			return 0, fmt.Errorf("duration %q is too large", s)
		}
		total += time.Duration(n) * mult
		rest = strings.TrimLeft(tail, " \t")
	}
	return total, nil
}

// nextDurationPart splits "<digits>[spaces]<unit>" off the front of s.
func nextDurationPart(s string) (part string, n uint64, unit, tail string, err error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return "", 0, "", "", fmt.Errorf("number in %q is too large", s)
		}
		n = n*10 + d
		i++
	}
	if i == 0 {
		return "", 0, "", "", fmt.Errorf("expected a number at %q: want a number with a unit, such as \"30s\" or \"1min\"", s)
	}
	j := i
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	k := j
	for k < len(s) && !strings.ContainsRune("0123456789 \t", rune(s[k])) {
		k++
	}
	if k == j {
		return "", 0, "", "", fmt.Errorf("time unit needed after %q, for example \"%ss\" or \"%sms\"", s[:i], s[:i], s[:i])
	}
	return s[:k], n, s[j:k], s[k:], nil
}
