package persist

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// diskUsage reads a store's filesystem with statfs, with the same arithmetic as the original
// (gopsutil): Free is what an unprivileged writer can still use, Used counts the root-reserved
// blocks as free, and UsedPercent is Used over Used+Free.
func diskUsage(path string) (DiskUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return DiskUsage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bsize := uint64(st.Bsize)
	u := DiskUsage{
		Type:  fsTypeName(int64(st.Type)),
		Total: st.Blocks * bsize,
		Free:  st.Bavail * bsize,
		Used:  (st.Blocks - st.Bfree) * bsize,
	}
	if u.Used+u.Free > 0 {
		u.UsedPercent = float64(u.Used) / float64(u.Used+u.Free) * 100
	}
	return u, nil
}

// fsTypes names the statfs magic numbers of the filesystems a store is likely to be on.
var fsTypes = map[int64]string{
	0xEF53:     "ext2/ext3/ext4",
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x01021994: "tmpfs",
	0x6969:     "nfs",
	0x2FC12FC1: "zfs",
	0x794C7630: "overlayfs",
	0x65735546: "fuse",
	0xFF534D42: "cifs",
	0xFE534D42: "smb2",
	0x5346544E: "ntfs",
	0x4D44:     "msdos",
	0x00C36400: "ceph",
	0x47504653: "gpfs",
	0x0BD00BD0: "lustre",
	0xF2F52010: "f2fs",
	0x73717368: "squashfs",
}

func fsTypeName(magic int64) string {
	if name, ok := fsTypes[magic]; ok {
		return name
	}
	return fmt.Sprintf("0x%x", magic)
}
