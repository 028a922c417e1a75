package bench

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/dashboard"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// BenchmarkDashboardLoad is the dashboard's page load in headless Chromium, measured by the
// browser (navigation start to the first complete view: workers, sectors by state and the sector
// table drawn), for a manager holding 1,000 workers and 10,000 sectors against the same page of
// an empty manager, loaded alternately in the same browser:
//
//   - page_ms: the full manager's load; empty_ms: the empty one's; x_empty: their ratio.
func BenchmarkDashboardLoad(b *testing.B) {
	quiet(b)
	path, err := exec.LookPath("chromium")
	if err != nil {
		b.Skip("no chromium on PATH: apt-get install -y chromium")
	}
	full := servedMock(b, true)
	empty := servedMock(b, false)
	tab := benchBrowser(b, path)
	load(b, tab, empty) // a cold browser start is no part of either figure
	var fullMs, emptyMs float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		emptyMs += load(b, tab, empty)
		fullMs += load(b, tab, full)
	}
	n := float64(b.N)
	b.ReportMetric(fullMs/n, "page_ms")
	b.ReportMetric(emptyMs/n, "empty_ms")
	b.ReportMetric(fullMs/emptyMs, "x_empty")
}

// servedMock serves a mock manager with the dashboard on loopback, populated as BenchmarkManager's
// when full.
func servedMock(b *testing.B, full bool) string {
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	if full {
		populate(b, m)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = server.Serve(ctx, ln, server.New(m, server.WithPage(dashboard.Handler())))
	}()
	b.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String() + "/"
}

func benchBrowser(b *testing.B, path string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.UserDataDir(b.TempDir()),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	b.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(tab); err != nil {
		b.Fatalf("start chromium: %v", err)
	}
	return tab
}

// load opens url and returns the page's own measure of its first complete view, in ms.
func load(b *testing.B, tab context.Context, url string) float64 {
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		b.Fatalf("open %s: %v", url, err)
	}
	ms, err := chromedp.Run(ctx, chromedp.Poll[string](`document.body.dataset.firstViewMs`))
	if err != nil {
		b.Fatalf("first view of %s: %v", url, err)
	}
	v, err := strconv.ParseFloat(ms, 64)
	if err != nil {
		b.Fatalf("firstViewMs %q: %v", ms, err)
	}
	return v
}
