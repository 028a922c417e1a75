package api_test

import (
	"reflect"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// checkClientMatchesAPI fails when a go-jsonrpc client struct and the interface it mirrors drift
// apart: a missing field would be a method the client cannot call, and a different signature would
// put different JSON on the wire than the server expects.
func checkClientMatchesAPI(t *testing.T, client any, iface any) {
	t.Helper()
	ct := reflect.TypeOf(client).Elem()
	it := reflect.TypeOf(iface).Elem()

	fields := map[string]reflect.StructField{}
	for i := 0; i < ct.NumField(); i++ {
		f := ct.Field(i)
		if f.Type.Kind() != reflect.Func {
			t.Errorf("%s.%s is %s, want only func fields", ct.Name(), f.Name, f.Type)
			continue
		}
		fields[f.Name] = f
	}

	for i := 0; i < it.NumMethod(); i++ {
		m := it.Method(i)
		f, ok := fields[m.Name]
		if !ok {
			t.Errorf("%s has no field for %s.%s", ct.Name(), it.Name(), m.Name)
			continue
		}
		if f.Type != m.Type {
			t.Errorf("%s.%s is %s, but %s.%s is %s", ct.Name(), f.Name, f.Type, it.Name(), m.Name, m.Type)
		}
		delete(fields, m.Name)
	}
	for name := range fields {
		t.Errorf("%s.%s has no method in %s", ct.Name(), name, it.Name())
	}
}

func TestManagerClientMatchesManagerAPI(t *testing.T) {
	checkClientMatchesAPI(t, (*api.ManagerClient)(nil), (*api.ServedManagerAPI)(nil))
}

func TestWorkerAdminClientMatchesWorkerAdminAPI(t *testing.T) {
	checkClientMatchesAPI(t, (*api.WorkerAdminClient)(nil), (*api.WorkerAdminAPI)(nil))
}

// The method names are the wire names; these are the ones the original peers call.
func TestWireMethodNames(t *testing.T) {
	wantManager := []string{
		"AcquireDeals", "AllocateSanpUpSector", "AllocateSector", "AssignTicket", "CheckProvable", "FindSector", "ListSectors",
		"PollPreCommitState", "PollProofState", "ProvingInfo", "ReportAborted", "ReportFinalized", "ReportState", "RestoreSector",
		"SectorHistory", "StoreBasicInfo", "StoreReserveSpace", "SubmitPersisted", "SubmitPreCommit", "SubmitProof",
		"SubmitSnapUpProof", "Version", "WaitSeed", "WorkerAdminDrain", "WorkerAdminList", "WorkerAdminPause", "WorkerAdminProgress", "WorkerAdminResume",
		"WorkerGetPingInfo", "WorkerPing", "WorkerPingInfoList", "WorkerPingInfoRemove", "WorkerResolveDest",
	}
	wantWorker := []string{"WorkerDrain", "WorkerList", "WorkerPause", "WorkerProgress", "WorkerRemoveEnv", "WorkerResume", "WorkerSetEnv"}
	check := func(iface any, want []string) {
		it := reflect.TypeOf(iface).Elem()
		var got []string
		for i := 0; i < it.NumMethod(); i++ { // sorted by name
			got = append(got, it.Method(i).Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s methods:\n got %v\nwant %v", it.Name(), got, want)
		}
	}
	check((*api.ManagerAPI)(nil), wantManager)
	check((*api.WorkerAdminAPI)(nil), wantWorker)
	check((*api.AuthAPI)(nil), []string{"AuthVerify"})
}
