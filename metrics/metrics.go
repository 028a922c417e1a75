// Package metrics holds what both daemons need to serve Prometheus metrics at /debug/metrics (the
// Lotus convention): a registry of their own, the bucket layout of calls, and the handler.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
)

// Path is where a daemon serves its metrics.
const Path = "/debug/metrics"

// CallBuckets spans an RPC, from 1 ms to 5 min.
var CallBuckets = prometheus.ExponentialBucketsRange(0.001, 300, 16)

// NewRegistry is a daemon's registry, with the Go runtime and process series every exporter has.
// Each daemon has its own, so tests can run several in one process.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in the text exposition format; a failing collector is reported in the
// scrape, not hidden.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// CallLatency records calls by method and result ("ok" or "error").
type CallLatency struct{ hist *prometheus.HistogramVec }

// NewCallLatency registers name on reg.
func NewCallLatency(reg prometheus.Registerer, name, help string) *CallLatency {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: CallBuckets}, []string{"method", "result"})
	reg.MustRegister(h)
	return &CallLatency{hist: h}
}

// Observe records one call of method that took took and ended with err.
func (c *CallLatency) Observe(method string, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.hist.WithLabelValues(method, result).Observe(took.Seconds())
}

// KVStoreCommits is a histogram of the process's kvstore commits (each an fsync'd write
// transaction), read from kvstore.ReadStats at scrape time.
type KVStoreCommits struct{ desc *prometheus.Desc }

// NewKVStoreCommits names the histogram.
func NewKVStoreCommits(name string) *KVStoreCommits {
	return &KVStoreCommits{desc: prometheus.NewDesc(name, "Commits of the meta stores (fsync'd write transactions), by duration.", nil, nil)}
}

func (k *KVStoreCommits) Describe(ch chan<- *prometheus.Desc) { ch <- k.desc }

func (k *KVStoreCommits) Collect(ch chan<- prometheus.Metric) {
	s := kvstore.ReadStats()
	buckets := make(map[float64]uint64, len(kvstore.CommitBuckets))
	for i, bound := range kvstore.CommitBuckets {
		buckets[bound.Seconds()] = uint64(s.Buckets[i])
	}
	ch <- prometheus.MustNewConstHistogram(k.desc, uint64(s.Commits), s.CommitTime.Seconds(), buckets)
}

// GaugesFunc is a gauge vector with one label whose values are computed at every scrape by
// read, so a scrape shows the store as it is, with no bookkeeping on the hot path.
type GaugesFunc struct {
	desc *prometheus.Desc
	read func() (map[string]float64, error)
}

// NewGaugesFunc builds a GaugesFunc named name with one label.
func NewGaugesFunc(name, help, label string, read func() (map[string]float64, error)) *GaugesFunc {
	return &GaugesFunc{desc: prometheus.NewDesc(name, help, []string{label}, nil), read: read}
}

func (g *GaugesFunc) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *GaugesFunc) Collect(ch chan<- prometheus.Metric) {
	values, err := g.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(g.desc, err)
		return
	}
	for value, n := range values {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, n, value)
	}
}
