package extproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// cgroupRoot is where cgroup hierarchies are mounted; tests point it at a fake tree.
var cgroupRoot = "/sys/fs/cgroup"

// cgroupWarnOnce keeps a host without usable cgroups to one warning, however many children ask
// for a cpuset.
var cgroupWarnOnce sync.Once

// cgroup is the cpuset cgroup one [[processors.<stage>]] entry's children run in.
type cgroup struct {
	dir string // the sub-cgroup; removed on close
}

// cgroupName is the sub-cgroup of one entry: sub-<stage>-<daemon pid>-<entry index>.
func cgroupName(stage string, index int) string {
	return fmt.Sprintf("sub-%s-%d-%d", stage, os.Getpid(), index)
}

// newCgroup creates <group>/<name> with the given cpuset, under cgroup v2 when the host has it,
// else under the v1 cpuset hierarchy.
func newCgroup(group, name, cpuset string) (*cgroup, error) {
	if slices.Contains(strings.Split(group, "/"), "..") {
		return nil, fmt.Errorf("cgroup.group_name %q climbs out of the cgroup root: name a group below it", group)
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return newCgroupV2(cgroupRoot, group, name, cpuset)
	}
	v1 := filepath.Join(cgroupRoot, "cpuset")
	if _, err := os.Stat(filepath.Join(v1, "cpuset.cpus")); err == nil {
		return newCgroupV1(v1, group, name, cpuset)
	}
	return nil, fmt.Errorf("neither cgroup v2 (%s/cgroup.controllers) nor the cgroup v1 cpuset hierarchy (%s) is available", cgroupRoot, v1)
}

// newCgroupV2 enables the cpuset controller down the path (each parent must delegate it to its
// children) and creates the leaf with its cpus.
func newCgroupV2(root, group, name, cpuset string) (*cgroup, error) {
	controllers, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	if !hasWord(string(controllers), "cpuset") {
		return nil, fmt.Errorf("cgroup v2 at %s has no cpuset controller", root)
	}
	dir := root
	for _, part := range pathParts(group) {
		if err := enableCpuset(dir); err != nil {
			return nil, err
		}
		dir = filepath.Join(dir, part)
		if err := mkdirCgroup(dir); err != nil {
			return nil, err
		}
	}
	if err := enableCpuset(dir); err != nil {
		return nil, err
	}
	leaf := filepath.Join(dir, name)
	if err := mkdirCgroup(leaf); err != nil {
		return nil, err
	}
	cg := &cgroup{dir: leaf}
	if err := writeCgroupFile(leaf, "cpuset.cpus", cpuset); err != nil {
		cg.remove()
		return nil, err
	}
	return cg, nil
}

func enableCpuset(dir string) error {
	current, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err == nil && hasWord(string(current), "cpuset") {
		return nil
	}
	return writeCgroupFile(dir, "cgroup.subtree_control", "+cpuset")
}

// newCgroupV1 creates the path in the cpuset hierarchy. A new v1 cpuset starts with no cpus and
// no mems, and a task cannot join it until both are set, so each level inherits its parent's.
func newCgroupV1(root, group, name, cpuset string) (*cgroup, error) {
	dir := root
	for _, part := range pathParts(group) {
		parent := dir
		dir = filepath.Join(dir, part)
		if err := mkdirCgroup(dir); err != nil {
			return nil, err
		}
		for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
			if err := inheritIfEmpty(parent, dir, file); err != nil {
				return nil, err
			}
		}
	}
	leaf := filepath.Join(dir, name)
	if err := mkdirCgroup(leaf); err != nil {
		return nil, err
	}
	cg := &cgroup{dir: leaf}
	if err := writeCgroupFile(leaf, "cpuset.cpus", cpuset); err != nil {
		cg.remove()
		return nil, err
	}
	if err := inheritIfEmpty(dir, leaf, "cpuset.mems"); err != nil {
		cg.remove()
		return nil, err
	}
	return cg, nil
}

func inheritIfEmpty(parent, dir, file string) error {
	current, err := os.ReadFile(filepath.Join(dir, file))
	if err == nil && strings.TrimSpace(string(current)) != "" {
		return nil
	}
	value, err := os.ReadFile(filepath.Join(parent, file))
	if err != nil {
		return err
	}
	return writeCgroupFile(dir, file, strings.TrimSpace(string(value)))
}

// add moves a process into the cgroup.
func (cg *cgroup) add(pid int) error {
	return writeCgroupFile(cg.dir, "cgroup.procs", strconv.Itoa(pid))
}

// remove deletes the cgroup once its processes are gone. On cgroupfs a cgroup directory is
// removed with rmdir despite its interface files; a plain directory (tests) needs RemoveAll.
func (cg *cgroup) remove() {
	err := os.Remove(cg.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		err = os.RemoveAll(cg.dir)
	}
	if err != nil {
		log.Warnw("remove cgroup", "dir", cg.dir, "err", err)
	}
}

func mkdirCgroup(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	return nil
}

func writeCgroupFile(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, filepath.Join(dir, file), err)
	}
	return nil
}

func pathParts(group string) []string {
	var parts []string
	for _, p := range strings.Split(group, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func hasWord(s, word string) bool {
	for _, w := range strings.Fields(s) {
		if w == word {
			return true
		}
	}
	return false
}
