// Package logging builds the zap loggers of both daemons: console format on stderr, so stdout
// stays free for command output and for the external-processor protocol.
package logging

import (
	"os"
	"strings"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

var (
	once sync.Once
	root *zap.Logger
	lvl  = zap.NewAtomicLevelAt(zapcore.InfoLevel)
)

// levelFromEnv reads VENUS_LOG (debug, info, warn, error); info is the default.
func levelFromEnv() zapcore.Level {
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(os.Getenv("VENUS_LOG")))); err != nil || os.Getenv("VENUS_LOG") == "" {
		return zapcore.InfoLevel
	}
	return l
}

func build() *zap.Logger {
	lvl.SetLevel(levelFromEnv())
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), lvl)
	return zap.New(core)
}

// Logger returns the named logger of a component, e.g. Logger("sealing").
func Logger(name string) *zap.SugaredLogger {
	once.Do(func() { root = build() })
	return root.Named(name).Sugar()
}

// SetLevel changes the level of every logger at once (tests and the CLI use it).
func SetLevel(l zapcore.Level) { lvl.SetLevel(l) }
