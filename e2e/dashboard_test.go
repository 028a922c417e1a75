package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is the browser the dashboard tests drive: $VC_CHROMIUM, else chromium on PATH. CI
// sets VC_REQUIRE_BROWSER, so a missing browser fails there instead of skipping.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("VC_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("VC_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium on PATH and VC_REQUIRE_BROWSER is set: apt-get install -y chromium (what .ci/run does)")
	}
	t.Skip("no chromium on PATH: apt-get install -y chromium to run the browser tests")
	return ""
}

// newBrowser starts a headless Chromium of its own (empty profile, no network of its own) and
// returns a tab's context; everything stops at the test's end.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browse runs actions in the tab, failing the test (with the page's text) after timeout.
func browse(t *testing.T, tab context.Context, timeout time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		shot, textCancel := context.WithTimeout(tab, 5*time.Second)
		defer textCancel()
		text, _ := chromedp.Run(shot, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, tail(text, 3000))
	}
}

func textOf(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// thread0Paused tells from the worker's own CLI whether thread 0 is paused.
func thread0Paused(t *testing.T, w *workerSetup) bool {
	line := strings.SplitN(w.cli(t, "list").stdout, "\n", 2)[0]
	return strings.HasPrefix(line, "#0: ") && strings.Contains(line, "paused=true")
}

// The dashboard of a manager with auth, in a real browser: it asks for a token, refuses a bad
// one, shows the worker and its threads, pauses and resumes a thread with the buttons (which the
// worker confirms), and shows sectors with a sector's history.
func TestDashboardInChromium(t *testing.T) {
	tab := newBrowser(t)
	m := startAuthManager(t, "--seed-delay", "2s")
	w := newWorkerSetup(t, m.addr, 2)
	setToken(t, w, m.createToken(t, "write"))
	startWorker(t, w)
	waitFor(t, "the worker's ping", 20*time.Second, func() bool {
		return strings.Contains(m.util(t, "worker", "list").stdout, "e2e-worker")
	})
	url := "http://" + m.addr + "/"

	browse(t, tab, 20*time.Second, "the page asks for a token",
		chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	browse(t, tab, 10*time.Second, "a bad token is refused",
		chromedp.SendKeys(chromedp.CSS("#token"), "not-a-token"), chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")), discard(chromedp.Poll[bool](`document.getElementById('login-error').textContent.startsWith('token refused')`)))
	if !strings.HasPrefix(textOf(t, tab, "#login-error"), "token refused: ") {
		t.Errorf("login error: %q", textOf(t, tab, "#login-error"))
	}

	browse(t, tab, 20*time.Second, "sign in with an admin token and see the worker",
		chromedp.SetValue(chromedp.CSS("#token"), m.createToken(t, "admin")), chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS(`#workers-body tr[data-worker="e2e-worker"]`)))
	if got := textOf(t, tab, "#workers-summary"); got != "1 workers: 1 online, 0 expired, 0 drained" {
		t.Errorf("workers summary %q", got)
	}
	if got := textOf(t, tab, "#who"); got != "token: read, write, admin" {
		t.Errorf("who: %q", got)
	}

	browse(t, tab, 20*time.Second, "open the worker and pause thread 0",
		chromedp.Click(chromedp.CSS(`#workers-body tr[data-worker="e2e-worker"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#threads-body tr[data-index="1"]`)),
		chromedp.Click(chromedp.CSS(`#threads-body tr[data-index="0"] button.pause`)),
	)
	waitFor(t, "the worker says thread 0 is paused", 30*time.Second, func() bool { return thread0Paused(t, w) })
	// The time in state comes from the worker's progress (Venus.WorkerAdminProgress).
	browse(t, tab, 20*time.Second, "thread 1 shows its time in state",
		discard(chromedp.Poll[bool](`(document.querySelector('#threads-body tr[data-index="1"] td:nth-child(5)') || {}).textContent > ''`)))
	browse(t, tab, 20*time.Second, "the page shows thread 0 paused and resumes it",
		chromedp.WaitVisible(chromedp.CSS(`#threads-body tr[data-index="0"][data-paused="true"] button.resume`)),
		chromedp.Click(chromedp.CSS(`#threads-body tr[data-index="0"] button.resume`)),
		chromedp.WaitVisible(chromedp.CSS(`#threads-body tr[data-index="0"][data-paused="false"]`)),
	)
	if thread0Paused(t, w) {
		t.Error("thread 0 is still paused after resume")
	}

	// Drain and undrain with the buttons; the manager's CLI confirms what the worker pinged.
	browse(t, tab, 20*time.Second, "drain the worker",
		chromedp.Click(chromedp.CSS("#drain")), chromedp.WaitVisible(chromedp.CSS("#worker-drained")),
		chromedp.WaitVisible(chromedp.CSS("#undrain")))
	if got := m.util(t, "worker", "info", "e2e-worker").stdout; !strings.Contains(got, "drained: e2e-worker takes no new sector") {
		t.Errorf("util worker info after the drain button:\n%s", got)
	}
	if got := textOf(t, tab, "#workers-summary"); got != "1 workers: 1 online, 0 expired, 1 drained" {
		t.Errorf("workers summary when drained %q", got)
	}
	browse(t, tab, 20*time.Second, "undrain the worker",
		chromedp.Click(chromedp.CSS("#undrain")), chromedp.WaitNotVisible(chromedp.CSS("#worker-drained")),
		chromedp.WaitVisible(chromedp.CSS("#drain")))
	if got := m.util(t, "worker", "info", "e2e-worker").stdout; strings.Contains(got, "drained:") {
		t.Errorf("util worker info after the undrain button:\n%s", got)
	}

	browse(t, tab, 30*time.Second, "a sector and its history",
		chromedp.WaitVisible(chromedp.CSS(`#sectors-body tr[data-sector]`)),
		chromedp.Click(chromedp.CSS(`#sectors-body tr[data-sector]`)),
		chromedp.WaitVisible(chromedp.CSS(`#history-body tr`)),
	)
	if id := textOf(t, tab, "#sector-id"); !strings.HasPrefix(id, "s-t010000-") {
		t.Errorf("sector shown: %q", id)
	}
	if h := textOf(t, tab, "#history-body"); !strings.Contains(h, "e2e-worker") {
		t.Errorf("history without the worker: %q", h)
	}
	if path := os.Getenv("VC_DASHBOARD_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Signing out forgets the token: a reload asks again.
	browse(t, tab, 20*time.Second, "sign out and reload",
		chromedp.Click(chromedp.CSS("#signout")), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#login-form")))
}

// A read token sees the cluster but gets no buttons; an open mock needs no token at all.
func TestDashboardReadTokenAndOpenManager(t *testing.T) {
	tab := newBrowser(t)
	m := startAuthManager(t)
	browse(t, tab, 20*time.Second, "sign in with a read token",
		chromedp.Navigate("http://"+m.addr+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SetValue(chromedp.CSS("#token"), m.createToken(t, "read")), chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#workers")))
	if got := textOf(t, tab, "#who"); got != "token: read" {
		t.Errorf("who: %q", got)
	}
	disabled, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById('drain').disabled && document.getElementById('drain').title === 'needs an admin token'`))
	if err != nil || !disabled {
		t.Error("the drain button is enabled for a read token")
	}

	open := startMockProcess(t, "")
	browse(t, tab, 20*time.Second, "an open manager shows the page without a token",
		chromedp.Navigate("http://"+open.addr+"/"), chromedp.WaitVisible(chromedp.CSS("#workers")))
	if got := textOf(t, tab, "#who"); got != "open manager (no auth)" {
		t.Errorf("who: %q", got)
	}
}

// discard makes a step of an action whose value the test does not need.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}
