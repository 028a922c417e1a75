// Package ffitypecheck type-checks a filecoin-ffi adapter (a package built only under the ffi
// tag) from a test of the default build. The default build cannot compile such an adapter
// (filecoin-ffi needs cgo and the Rust library), so Check uses go/types instead: filecoin-ffi's Go
// source at the version scripts/ffi.sh builds is checked with FakeImportC (which stands in for
// cgo's "C" package) and without function bodies, then the adapter is checked against it with the
// `ffi` tag, strictly. Every other package comes from the export data `go list -export` builds in
// this module. Both daemons' adapters (the worker's processors, the manager's seal verifier) use it.
package ffitypecheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

const ffiModule = "github.com/filecoin-project/filecoin-ffi"

// Check type-checks the adapter package in dir (import path pkgPath) against the pinned
// filecoin-ffi and fails t for every call in calls that the adapter no longer makes, so the
// check cannot pass by checking less.
func Check(t *testing.T, dir, pkgPath string, calls []string) {
	t.Helper()
	start := time.Now()
	version := pinnedFFIVersion(t)
	ffiDir := ffiSource(t, version)

	fset := token.NewFileSet()
	adapter := parsePackage(t, fset, dir, "ffi")
	ffiRoot := parsePackage(t, fset, ffiDir)
	ffiCgo := parsePackage(t, fset, filepath.Join(ffiDir, "cgo"))

	imp := &sourceImporter{
		fset:    fset,
		ffiDirs: map[string][]*ast.File{ffiModule: ffiRoot, ffiModule + "/cgo": ffiCgo},
		checked: map[string]*types.Package{},
	}
	imp.exports, imp.listErrs = exportData(t, importsOf(adapter, ffiRoot, ffiCgo))
	imp.gc = importer.ForCompiler(fset, "gc", imp.lookup)

	var errs []string
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: imp, Error: func(err error) { errs = append(errs, err.Error()) }}
	_, _ = conf.Check(pkgPath, fset, adapter, info)
	for _, e := range errs {
		t.Errorf("adapter does not type-check against filecoin-ffi %s: %s", version, e)
	}
	if imp.ffiErr != nil {
		t.Fatalf("filecoin-ffi %s: %v", version, imp.ffiErr)
	}
	checkFFIUses(t, fset, info, version, calls)

	t.Logf("type-checked the adapter against filecoin-ffi %s (%s) in %v; ignored %d errors in filecoin-ffi's "+
		"declarations, from imports without export data: %s",
		version, ffiDir, time.Since(start).Round(time.Millisecond), imp.softErrors, strings.Join(imp.unresolved(), ", "))
}

// checkFFIUses fails for every filecoin-ffi object the adapter uses whose type did not resolve
// (go/types stays silent about calls through an invalid type), and for every mapped call the
// adapter no longer makes.
func checkFFIUses(t *testing.T, fset *token.FileSet, info *types.Info, version string, calls []string) {
	t.Helper()
	used := map[string]bool{}
	for id, obj := range info.Uses {
		if obj.Pkg() == nil || obj.Pkg().Path() != ffiModule {
			continue
		}
		used[obj.Name()] = true
		if bad := invalidPart(obj.Type(), map[types.Type]bool{}); bad != "" {
			t.Errorf("%s: filecoin-ffi %s: %s has a type that did not resolve (%s): %s",
				fset.Position(id.Pos()), version, obj.Name(), bad, obj.Type())
		}
	}
	for _, name := range calls {
		if !used[name] {
			t.Errorf("the adapter no longer uses filecoin-ffi's %s: update the list of calls the test expects", name)
		}
	}
}

// invalidPart describes the first invalid type inside typ, or returns "".
func invalidPart(typ types.Type, seen map[types.Type]bool) string {
	if typ == nil {
		return "no type"
	}
	if seen[typ] {
		return ""
	}
	seen[typ] = true
	switch typ := typ.(type) {
	case *types.Basic:
		if typ.Kind() == types.Invalid {
			return "invalid type"
		}
	case *types.Pointer:
		return invalidPart(typ.Elem(), seen)
	case *types.Slice:
		return invalidPart(typ.Elem(), seen)
	case *types.Array:
		return invalidPart(typ.Elem(), seen)
	case *types.Map:
		if s := invalidPart(typ.Key(), seen); s != "" {
			return s
		}
		return invalidPart(typ.Elem(), seen)
	case *types.Chan:
		return invalidPart(typ.Elem(), seen)
	case *types.Tuple:
		for i := 0; i < typ.Len(); i++ {
			if s := invalidPart(typ.At(i).Type(), seen); s != "" {
				return typ.At(i).Name() + ": " + s
			}
		}
	case *types.Signature:
		if s := invalidPart(typ.Params(), seen); s != "" {
			return "parameter " + s
		}
		return invalidPart(typ.Results(), seen)
	case *types.Struct:
		for i := 0; i < typ.NumFields(); i++ {
			if s := invalidPart(typ.Field(i).Type(), seen); s != "" {
				return "field " + typ.Field(i).Name() + ": " + s
			}
		}
	case *types.Named:
		// Types of other packages come from compiled export data and are sound; a filecoin-ffi
		// type is only as sound as what it is built from.
		if typ.Obj().Pkg() != nil && typ.Obj().Pkg().Path() == ffiModule {
			return invalidPart(typ.Underlying(), seen)
		}
	}
	return ""
}

// pinnedFFIVersion is the filecoin-ffi version scripts/ffi.sh builds, so the test checks exactly
// what `make ffi` links.
func pinnedFFIVersion(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command(goTool(t), "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("find the module root: %v", err)
	}
	script := filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), "scripts", "ffi.sh")
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatalf("read the pinned filecoin-ffi version: %v", err)
	}
	m := regexp.MustCompile(`(?m)^readonly FFI_VERSION=(v[0-9][0-9A-Za-z.+-]*)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no line `readonly FFI_VERSION=v<version>`", script)
	}
	return string(m[1])
}

// ffiSource finds filecoin-ffi's source in the module cache, downloading it from the Go module
// proxy if it is not there. It runs outside this module so go.mod and go.sum stay untouched.
func ffiSource(t *testing.T, version string) string {
	t.Helper()
	cmd := exec.Command(goTool(t), "mod", "download", "-json", ffiModule+"@"+version)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || runErr != nil || mod.Error != "" || mod.Dir == "" {
		t.Skipf("SKIP: filecoin-ffi %s is not in the module cache and cannot be downloaded, so the ffi adapter "+
			"was not type-checked (go mod download: %v %s %s)", version, runErr, mod.Error, strings.TrimSpace(stderr.String()))
	}
	return mod.Dir
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to locate filecoin-ffi and export data: %v", err)
	}
	return p
}

// parsePackage parses the Go files of dir that a linux/amd64 cgo build with tags selects.
func parsePackage(t *testing.T, fset *token.FileSet, dir string, tags ...string) []*ast.File {
	t.Helper()
	ctxt := build.Default
	ctxt.GOOS, ctxt.GOARCH = "linux", "amd64"
	ctxt.CgoEnabled = true
	ctxt.BuildTags = tags
	pkg, err := ctxt.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("list the Go files of %s: %v", dir, err)
	}
	var files []*ast.File
	for _, name := range append(append([]string{}, pkg.GoFiles...), pkg.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		files = append(files, f)
	}
	return files
}

// importsOf lists the packages the files import, except "C", "unsafe" and filecoin-ffi's own.
func importsOf(sets ...[]*ast.File) []string {
	paths := map[string]bool{}
	for _, files := range sets {
		for _, f := range files {
			for _, spec := range f.Imports {
				p := strings.Trim(spec.Path.Value, `"`)
				if p != "C" && p != "unsafe" && !isFFI(p) {
					paths[p] = true
				}
			}
		}
	}
	out := make([]string, 0, len(paths))
	for p := range paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func isFFI(path string) bool { return path == ffiModule || strings.HasPrefix(path, ffiModule+"/") }

// exportData builds the export data of paths and their dependencies in this module and returns
// where each package's is, and why go list has none for the others: filecoin-ffi's imports that
// are outside this module's build graph, or a package of ours that does not compile.
func exportData(t *testing.T, paths []string) (exports, errs map[string]string) {
	t.Helper()
	args := append([]string{"list", "-e", "-export", "-deps", "-json=ImportPath,Export,Error"}, paths...)
	cmd := exec.Command(goTool(t), args...)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	exports, errs = map[string]string{}, map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath, Export string
			Error              *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		switch {
		case p.Export != "":
			exports[p.ImportPath] = p.Export
		case p.Error != nil:
			errs[p.ImportPath] = p.Error.Err
		}
	}
	return exports, errs
}

// sourceImporter type-checks filecoin-ffi's packages from source and imports every other package
// from export data, through one gc importer so that both see the same types.
type sourceImporter struct {
	fset    *token.FileSet
	ffiDirs map[string][]*ast.File
	checked map[string]*types.Package
	exports map[string]string
	// listErrs says why go list has no export data for a package.
	listErrs map[string]string
	gc       types.Importer

	missing    map[string]bool
	softErrors int
	ffiErr     error
}

func (im *sourceImporter) Import(path string) (*types.Package, error) {
	if isFFI(path) {
		return im.checkFFI(path)
	}
	return im.gc.Import(path)
}

func (im *sourceImporter) lookup(path string) (io.ReadCloser, error) {
	file, ok := im.exports[path]
	if !ok {
		if im.missing == nil {
			im.missing = map[string]bool{}
		}
		im.missing[path] = true
		why := im.listErrs[path]
		if why == "" {
			why = "go list built no export data for it"
		}
		return nil, fmt.Errorf("%s: %s", path, oneLine(why))
	}
	return os.Open(file)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// checkFFI type-checks one filecoin-ffi package: declarations only, errors counted, not fatal.
// Its cgo half refers to C types that FakeImportC leaves invalid and to modules outside ours;
// checkFFIUses makes sure none of that reaches what the adapter uses.
func (im *sourceImporter) checkFFI(path string) (*types.Package, error) {
	if pkg, ok := im.checked[path]; ok {
		return pkg, nil
	}
	files, ok := im.ffiDirs[path]
	if !ok {
		im.ffiErr = fmt.Errorf("the adapter imports %s, which this test does not load: add it to ffiDirs", path)
		return nil, im.ffiErr
	}
	conf := types.Config{
		Importer:         im,
		FakeImportC:      true,
		IgnoreFuncBodies: true,
		Error:            func(error) { im.softErrors++ },
	}
	pkg, _ := conf.Check(path, im.fset, files, nil)
	im.checked[path] = pkg
	return pkg, nil
}

func (im *sourceImporter) unresolved() []string {
	var out []string
	for p := range im.missing {
		out = append(out, p)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
