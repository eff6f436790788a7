package testlab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// childEnv carries a Lab, as JSON, to a test that RunIn started again
// inside one of the lab's namespaces.
const childEnv = "NETBOOT_TESTLAB_CHILD"

// childLab is the Lab handed down by RunIn, or nil outside such a child.
func childLab(t testing.TB) *Lab {
	t.Helper()
	env := os.Getenv(childEnv)
	if env == "" {
		return nil
	}
	var l Lab
	if err := json.Unmarshal([]byte(env), &l); err != nil {
		t.Fatalf("%s: %v", childEnv, err)
	}
	return &l
}

// RunIn runs the calling test again in a child process inside namespace ns
// (the test binary itself, with -test.run naming only this test), so that
// code under test opens every socket in that namespace, as the agent does
// when it runs there. In the child RunIn returns true and the test goes on
// to do its work: New returns the parent's Lab there, whose cleanup stays
// with the parent. In the parent it waits for the child, logs its output,
// fails the test if the child failed, and returns false.
func (l *Lab) RunIn(t *testing.T, ns string) bool {
	t.Helper()
	if childLab(t) != nil {
		return true
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var pattern []string
	for _, part := range strings.Split(t.Name(), "/") {
		pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	args := []string{exe, "-test.run", strings.Join(pattern, "/"), "-test.count", "1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	lab, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	cmd := l.Command(t, ns, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+string(lab))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("the test, run again in namespace %s:\n%s", ns, out.String())
	switch {
	case err != nil:
		t.Fatalf("the test failed in namespace %s: %v", ns, err)
	case strings.Contains(out.String(), fmt.Sprintf("--- SKIP: %s ", t.Name())):
		t.Skipf("the test skipped in namespace %s", ns)
	case !strings.Contains(out.String(), fmt.Sprintf("--- PASS: %s ", t.Name())):
		t.Fatalf("the test did not run in namespace %s", ns)
	}
	return false
}
