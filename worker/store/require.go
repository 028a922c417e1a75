package store

import (
	"fmt"
	"io/fs"
	"os"
)

// RequireDir checks that path names an existing directory. what names the input path came from
// (a config key, a task field), so the error tells the user what to fix.
func RequireDir(path, what string) error {
	_, err := requireKind(path, what, "directory", fs.FileInfo.IsDir)
	return err
}

// RequireFile checks that path names an existing regular file and returns its info. what names
// the input path came from, as for RequireDir.
func RequireFile(path, what string) (fs.FileInfo, error) {
	return requireKind(path, what, "regular file", func(info fs.FileInfo) bool { return info.Mode().IsRegular() })
}

func requireKind(path, what, kind string, isKind func(fs.FileInfo) bool) (fs.FileInfo, error) {
	if path == "" {
		return nil, fmt.Errorf("%s is empty: it must name a %s", what, kind)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !isKind(info) {
		return nil, fmt.Errorf("%s %s is not a %s", what, path, kind)
	}
	return info, nil
}
