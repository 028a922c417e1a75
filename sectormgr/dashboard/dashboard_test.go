package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestPageAndAssetsAreServed(t *testing.T) {
	for path, want := range map[string]string{
		"/":                     `<script src="/dashboard/app.js" defer></script>`,
		"/dashboard/app.js":     "async function rpc(method, ...params)",
		"/dashboard/style.css":  "border-collapse",
		"/dashboard/index.html": "",
	} {
		w := get(t, http.MethodGet, path)
		if want == "" {
			if w.Code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404 (the page has one address)", path, w.Code)
			}
			continue
		}
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d, body without %q", path, w.Code, want)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
		if w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", path, w.Header())
		}
	}
}

func TestTypesOfAssets(t *testing.T) {
	for path, want := range map[string]string{"/": "text/html", "/dashboard/app.js": "javascript", "/dashboard/style.css": "text/css"} {
		if ct := get(t, http.MethodGet, path).Header().Get("Content-Type"); !strings.Contains(ct, want) {
			t.Errorf("GET %s: Content-Type %q, want %s", path, ct, want)
		}
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	if w := get(t, http.MethodPost, "/"); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d %v", w.Code, w.Header())
	}
	if w := get(t, http.MethodHead, "/"); w.Code != http.StatusOK {
		t.Errorf("HEAD /: %d", w.Code)
	}
	for _, p := range []string{"/nope", "/dashboard/", "/dashboard/../../etc/passwd", "/dashboard/missing.js"} {
		if w := get(t, http.MethodGet, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
}

// The page puts data into the document only as text: a worker's error message must not become
// markup (a worker, or anyone who can make one fail, would otherwise run script in an admin's tab).
func TestPageNeverParsesDataAsHTML(t *testing.T) {
	js := get(t, http.MethodGet, "/dashboard/app.js").Body.String()
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	if !strings.Contains(js, "sessionStorage") || strings.Contains(js, "localStorage") {
		t.Error("the token must be kept for the session only (sessionStorage), never in localStorage")
	}
}
