// Package dashboard is the manager's web page: plain HTML, CSS and JavaScript embedded in the
// binary, served at / with no data of its own. The page reads everything from the manager's
// JSON-RPC api (/rpc/v0) with the token the operator types in, so it can show and do exactly
// what that token allows, and no more than `util` could.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

//go:embed web
var files embed.FS

// AssetPrefix is where the page's scripts and styles are served.
const AssetPrefix = "/dashboard/"

// contentSecurityPolicy lets the page run only its own files and talk only to its own origin;
// frame-ancestors keeps other sites from framing it to trick a click on pause or drain.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Handler serves the page at / and its assets under AssetPrefix; every other path is 404. Only
// GET and HEAD are served.
func Handler() http.Handler {
	web, err := fs.Sub(files, "web")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	assets := http.StripPrefix(AssetPrefix, http.FileServer(http.FS(web)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard serves GET and HEAD only; the api is at /rpc/v0", http.StatusMethodNotAllowed)
			return
		}
		setPageHeaders(w.Header())
		switch p := path.Clean(r.URL.Path); {
		case p == "/":
			http.ServeFileFS(w, r, web, "index.html")
		case path.Dir(p)+"/" == AssetPrefix && p != AssetPrefix+"index.html":
			assets.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// A new binary may bring a new page; the files are small.
	h.Set("Cache-Control", "no-cache")
}
