//go:build !linux

package persist

import (
	"fmt"
	"runtime"
)

// diskUsage is only implemented on Linux, where the manager's stores are; elsewhere every store
// is reported without usage and StoreReserveSpace finds no space.
func diskUsage(path string) (DiskUsage, error) {
	return DiskUsage{}, fmt.Errorf("free space of %s: not supported on %s", path, runtime.GOOS)
}
