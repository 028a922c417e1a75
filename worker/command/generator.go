package command

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
)

var generatorCmd = &cli.Command{
	Name:  "generator",
	Usage: "generate files the worker can reuse",
	Subcommands: []*cli.Command{
		{
			Name:  "tree-d",
			Usage: "build the tree_d of an all-zero sector, for [processors.static_tree_d]",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "sector-size", Aliases: []string{"s"}, Required: true, Usage: "sector size: 2KiB, 8MiB, 512MiB, 32GiB or 64GiB"},
				&cli.StringFlag{Name: "path", Aliases: []string{"p"}, Required: true, Usage: "directory to write sc-02-data-tree-d.dat into"},
			},
			Action: generateStaticTreeD,
		},
	},
}

// generateStaticTreeD builds the tree over a sparse all-zero staged file, so it costs no disk
// beyond the tree itself.
func generateStaticTreeD(cctx *cli.Context) error {
	size, _, err := api.ParseSectorSize(cctx.String("sector-size"))
	if err != nil {
		return fmt.Errorf("invalid --sector-size %q: %w", cctx.String("sector-size"), err)
	}
	dir := cctx.String("path")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create --path %s: %w", dir, err)
	}
	staged, err := os.CreateTemp(dir, ".zero-staged-*")
	if err != nil {
		return fmt.Errorf("create a staged file in %s: %w", dir, err)
	}
	defer os.Remove(staged.Name())
	if err := staged.Truncate(int64(size)); err != nil {
		staged.Close()
		return fmt.Errorf("size the staged file: %w", err)
	}
	staged.Close()
	out := filepath.Join(dir, treed.FileName)
	root, err := treed.BuildContext(background(cctx), staged.Name(), out, size)
	if err != nil {
		return fmt.Errorf("build tree_d: %w", err)
	}
	logging.Logger("generator").Infow("generate static tree-d succeed", "path", out, "comm_d", fmt.Sprintf("%x", root))
	return nil
}
