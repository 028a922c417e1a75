// Package telemetry holds a worker's Prometheus series (served at /debug/metrics on its admin
// address): what its threads hold, how long states and processor stages take, retries and
// failures, limitation waits, external-processor restarts, persisted bytes and manager calls.
package telemetry

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/metrics"
)

// StepBuckets spans a sealing state or stage, from 1 s to 24 h, at bounds an operator reads at
// a glance (seconds: 1, 5, 15, 30 s, 1, 2, 5, 10, 20, 30 min, 1, 2, 3, 4, 6, 12, 24 h).
var StepBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400}

// Thread is one sealing thread as a scrape sees it.
type Thread struct {
	Index  int
	Plan   string
	State  string
	Paused bool
	// EnteredAt is when the thread entered State; zero if unknown.
	EnteredAt time.Time
	// Step, Done and Total are the long step under way (tree_d, transfer); Step is "" between
	// steps, and Counted false when the step does not count its bytes.
	Step        string
	Done, Total int64
	Counted     bool
}

// Pool is where ThreadsOf reads the threads (sealing.Pool).
type Pool interface {
	List() []api.WorkerThreadInfo
	Progress() []api.ThreadProgress
	Plans() []string
}

// ThreadsOf is every thread of p as a scrape shows it.
func ThreadsOf(p Pool) []Thread {
	list, progress, plans := p.List(), p.Progress(), p.Plans()
	out := make([]Thread, len(list))
	for i, t := range list {
		// The state comes with its entry time from one read, so that a thread moving on
		// between List and Progress still shows both.
		pr := progress[i]
		s := Thread{Index: t.Index, Plan: plans[i], State: pr.State, Paused: t.Paused}
		if pr.StateEnteredAt != nil {
			s.EnteredAt = *pr.StateEnteredAt
		}
		if pr.Step != nil {
			s.Step, s.Total = *pr.Step, *pr.BytesTotal
		}
		if pr.BytesDone != nil {
			s.Done, s.Counted = *pr.BytesDone, true
		}
		out[i] = s
	}
	return out
}

// Sources are what a scrape reads from the worker.
type Sources struct {
	Threads func() []Thread
	Drained func() bool
}

// Recorder records what the worker does. Its methods are safe for concurrent use.
type Recorder struct {
	states      *prometheus.HistogramVec
	stages      *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	failures    *prometheus.CounterVec
	restarts    *prometheus.CounterVec
	waits       *prometheus.HistogramVec
	persisted   prometheus.Counter
	persistTime prometheus.Histogram
	throughput  prometheus.Gauge
	calls       *metrics.CallLatency
}

// New registers the worker's series on reg; src is read at every scrape.
func New(reg prometheus.Registerer, src Sources) *Recorder {
	r := &Recorder{
		states: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "venus_worker_state_duration_seconds",
			Help: "Time sealing threads spent in a state, observed when they leave it.", Buckets: StepBuckets}, []string{"plan", "state"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "venus_worker_stage_duration_seconds",
			Help: "Time a processor stage took (pc1, pc2, c1, c2, tree_d, add_piece, transfer, snap_*), by result.", Buckets: StepBuckets}, []string{"stage", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "venus_worker_retries_total",
			Help: "Temporary failures retried, by plan."}, []string{"plan"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "venus_worker_failures_total",
			Help: "Failed steps, by level (Temporary, Permanent, Critical, Abort)."}, []string{"level"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "venus_worker_ext_processor_restarts_total",
			Help: "External processors restarted after they exited, by stage."}, []string{"stage"}),
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "venus_worker_limitation_wait_seconds",
			Help: "Time spent waiting on a limitation (concurrent, staggered, ext_locks), by name.", Buckets: metrics.CallBuckets}, []string{"limitation", "name"}),
		persisted: prometheus.NewCounter(prometheus.CounterOpts{Name: "venus_worker_persisted_bytes_total",
			Help: "Bytes of sector files persisted into the attached stores."}),
		persistTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "venus_worker_persist_duration_seconds",
			Help: "Time a sector's persist transfer took.", Buckets: StepBuckets}),
		throughput: prometheus.NewGauge(prometheus.GaugeOpts{Name: "venus_worker_persist_throughput_bytes_per_second",
			Help: "Throughput of the last persist transfer."}),
		calls: metrics.NewCallLatency(reg, "venus_worker_manager_call_duration_seconds", "Venus.* calls to the sector manager, by method and result."),
	}
	reg.MustRegister(r.states, r.stages, r.retries, r.failures, r.restarts, r.waits, r.persisted, r.persistTime, r.throughput,
		&threadsCollector{src: src}, metrics.NewKVStoreCommits("venus_worker_kvstore_commit_duration_seconds"))
	return r
}

// Known are the label values a worker may report. Their counters and histograms start at zero,
// so that a dashboard and an alert see them before the first event.
type Known struct {
	Plans     []string
	Levels    []string
	Stages    []string
	ExtStages []string
	// Limitations are the limited names by kind (concurrent, staggered, ext_locks).
	Limitations map[string][]string
}

// Zero creates the series of k at zero.
func (r *Recorder) Zero(k Known) {
	for _, p := range k.Plans {
		r.retries.WithLabelValues(p)
	}
	for _, l := range k.Levels {
		r.failures.WithLabelValues(l)
	}
	for _, s := range k.Stages {
		r.stages.WithLabelValues(s, result(false))
	}
	for _, s := range k.ExtStages {
		r.restarts.WithLabelValues(s)
	}
	for kind, names := range k.Limitations {
		for _, n := range names {
			r.waits.WithLabelValues(kind, n)
		}
	}
}

// StateLeft records took spent in state by a thread of plan.
func (r *Recorder) StateLeft(plan, state string, took time.Duration) {
	r.states.WithLabelValues(plan, state).Observe(took.Seconds())
}

// StageDone records one run of a processor stage.
func (r *Recorder) StageDone(stage string, took time.Duration, failed bool) {
	r.stages.WithLabelValues(stage, result(failed)).Observe(took.Seconds())
}

// Retried counts a retry by a thread of plan (the state is in the worker's log).
func (r *Recorder) Retried(plan, _ string) { r.retries.WithLabelValues(plan).Inc() }

// Failed counts a failure of level.
func (r *Recorder) Failed(level string) { r.failures.WithLabelValues(level).Inc() }

// Persisted records a persist transfer of n bytes that took took.
func (r *Recorder) Persisted(n int64, took time.Duration) {
	r.persisted.Add(float64(n))
	r.persistTime.Observe(took.Seconds())
	if took > 0 {
		r.throughput.Set(float64(n) / took.Seconds())
	}
}

// Restarted counts a restart of an external processor of stage.
func (r *Recorder) Restarted(stage string) { r.restarts.WithLabelValues(stage).Inc() }

// Waited records took spent waiting on limitation name.
func (r *Recorder) Waited(limitation, name string, took time.Duration) {
	r.waits.WithLabelValues(limitation, name).Observe(took.Seconds())
}

// ManagerCall records one call to the sector manager (an api.CallObserver).
func (r *Recorder) ManagerCall(method string, took time.Duration, err error) {
	r.calls.Observe(method, took, err)
}

func result(failed bool) string {
	if failed {
		return "error"
	}
	return "ok"
}

// threadsCollector reads the threads at scrape time, so the hot path keeps no gauges.
type threadsCollector struct{ src Sources }

var (
	threadsDesc = prometheus.NewDesc("venus_worker_threads", "Sealing threads, by plan and state.", []string{"plan", "state"}, nil)
	pausedDesc  = prometheus.NewDesc("venus_worker_threads_paused", "Sealing threads paused.", nil, nil)
	drainedDesc = prometheus.NewDesc("venus_worker_drained", "1 while the worker is drained (takes no new sector).", nil, nil)
	enteredDesc = prometheus.NewDesc("venus_worker_thread_state_entered_timestamp_seconds",
		"When each thread entered its state (Unix time).", []string{"thread", "state"}, nil)
	doneDesc = prometheus.NewDesc("venus_worker_step_bytes_done",
		"Bytes done by a thread's long step (tree_d, transfer); absent for a step that does not count them (an external processor).", []string{"thread", "step"}, nil)
	totalDesc = prometheus.NewDesc("venus_worker_step_bytes_total", "Bytes a thread's long step has to do; step is empty between steps.", []string{"thread", "step"}, nil)
)

func (c *threadsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{threadsDesc, pausedDesc, drainedDesc, enteredDesc, doneDesc, totalDesc} {
		ch <- d
	}
}

func (c *threadsCollector) Collect(ch chan<- prometheus.Metric) {
	type planState struct{ plan, state string }
	counts := map[planState]float64{}
	paused := 0.0
	for _, t := range c.src.Threads() {
		counts[planState{t.Plan, t.State}]++
		if t.Paused {
			paused++
		}
		thread := strconv.Itoa(t.Index)
		if !t.EnteredAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(enteredDesc, prometheus.GaugeValue, float64(t.EnteredAt.UnixMilli())/1e3, thread, t.State)
		}
		// Between steps the thread shows 0 of 0 bytes of step "", so that its series stay.
		ch <- prometheus.MustNewConstMetric(totalDesc, prometheus.GaugeValue, float64(t.Total), thread, t.Step)
		if t.Counted || t.Step == "" {
			ch <- prometheus.MustNewConstMetric(doneDesc, prometheus.GaugeValue, float64(t.Done), thread, t.Step)
		}
	}
	for ps, n := range counts {
		ch <- prometheus.MustNewConstMetric(threadsDesc, prometheus.GaugeValue, n, ps.plan, ps.state)
	}
	ch <- prometheus.MustNewConstMetric(pausedDesc, prometheus.GaugeValue, paused)
	drained := 0.0
	if c.src.Drained() {
		drained = 1
	}
	ch <- prometheus.MustNewConstMetric(drainedDesc, prometheus.GaugeValue, drained)
}
