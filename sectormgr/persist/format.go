package persist

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// WriteStoreList prints StoreList's answer as `util storage list` does (spec §1.7): "No Stores"
// for an empty list, else one block per store, sizes as BytesSize, reservation ages from now.
func WriteStoreList(w io.Writer, list []StoreDetailedInfo, now time.Time) error {
	bw := bufio.NewWriter(w)
	if len(list) == 0 {
		fmt.Fprintln(bw, "No Stores")
		return bw.Flush()
	}
	for _, d := range list {
		fmt.Fprintf(bw, "%s:\n", d.Name)
		fmt.Fprintf(bw, "\tPath: %s\n", d.Path)
		fmt.Fprintf(bw, "\tType: %s\n", d.Type)
		fmt.Fprintf(bw, "\tTotal: %s\n", BytesSize(float64(d.Total)))
		fmt.Fprintf(bw, "\tFree: %s\n", BytesSize(float64(d.Free)))
		fmt.Fprintf(bw, "\tUsed: %s\n", BytesSize(float64(d.Used)))
		fmt.Fprintf(bw, "\tUsedPercent: %.02f%%\n", d.UsedPercent)
		fmt.Fprintf(bw, "\tReserved: %s\n", BytesSize(float64(d.Reserved)))
		if len(d.ReservedBy) > 0 {
			fmt.Fprintln(bw, "\tReserved Items:")
			for i, it := range d.ReservedBy {
				fmt.Fprintf(bw, "\t\t#%d: %s, %s, %s ago\n", i, it.By, BytesSize(float64(it.Size)), now.Sub(time.Unix(it.At, 0)))
			}
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

var binaryUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}

// BytesSize renders a size with binary units and four significant digits, as docker's
// units.BytesSize that the original CLI used: 1.819TiB, 2KiB, 0B.
func BytesSize(size float64) string {
	i := 0
	for size >= 1024 && i < len(binaryUnits)-1 {
		size /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", size, binaryUnits[i])
}
