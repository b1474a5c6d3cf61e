package examples

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v4"
)

const k8sDir = "examples/kubernetes"

// The parts of the Kubernetes objects the tests look at.
type (
	k8sMeta struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	k8sObject struct {
		APIVersion string  `yaml:"apiVersion"`
		Kind       string  `yaml:"kind"`
		Metadata   k8sMeta `yaml:"metadata"`
		file       string
		doc        []byte // the object's own YAML, to decode into the types below
	}
	k8sSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	k8sProbe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"` // a number or a port name
		} `yaml:"httpGet"`
	}
	k8sContainer struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Env   []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe   *k8sProbe `yaml:"livenessProbe"`
		ReadinessProbe  *k8sProbe `yaml:"readinessProbe"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	k8sDeployment struct {
		Spec struct {
			Replicas int         `yaml:"replicas"`
			Selector k8sSelector `yaml:"selector"`
			Template struct {
				Metadata k8sMeta `yaml:"metadata"`
				Spec     struct {
					TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
					SecurityContext               struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []k8sContainer `yaml:"containers"`
					Volumes    []struct {
						Name   string `yaml:"name"`
						Secret *struct {
							SecretName  string `yaml:"secretName"`
							DefaultMode int    `yaml:"defaultMode"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	k8sService struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort any    `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	k8sSecret struct {
		StringData map[string]string `yaml:"stringData"`
		Data       map[string]string `yaml:"data"`
	}
	k8sServiceMonitor struct {
		Spec struct {
			Selector  k8sSelector `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	k8sPDB struct {
		Spec struct {
			Selector k8sSelector `yaml:"selector"`
		} `yaml:"spec"`
	}
)

// decode reads the object into v.
func (o k8sObject) decode(t *testing.T, v any) {
	t.Helper()
	if err := yaml.Unmarshal(o.doc, v); err != nil {
		t.Fatalf("%s: %s %s: %v", o.file, o.Kind, o.Metadata.Name, err)
	}
}

// loadManifests reads every document of every YAML file in dir, except the
// kustomization, keyed by "Kind/name".
func loadManifests(t *testing.T, dir string) map[string]k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	objs := map[string]k8sObject{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for i := 0; ; i++ {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			doc, err := yaml.Marshal(&node)
			if err != nil {
				t.Fatal(err)
			}
			o := k8sObject{file: filepath.Base(f), doc: doc}
			if err := node.Decode(&o); err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Fatalf("%s: document %d lacks apiVersion, kind or metadata.name", f, i)
			}
			key := o.Kind + "/" + o.Metadata.Name
			if _, dup := objs[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			objs[key] = o
		}
	}
	return objs
}

func mustGet(t *testing.T, objs map[string]k8sObject, key string) k8sObject {
	t.Helper()
	o, ok := objs[key]
	if !ok {
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range objs {
				if !yield(k) {
					return
				}
			}
		})
		t.Fatalf("no %s among %v", key, keys)
	}
	return o
}

// selects reports whether a selector picks objects labelled labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	objs := loadManifests(t, k8sDir)

	depObj := mustGet(t, objs, "Deployment/tajo-agent")
	var dep k8sDeployment
	depObj.decode(t, &dep)
	pod := dep.Spec.Template
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("Deployment: %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	// portOf resolves a probe's or a Service's port: a number or a name.
	portOf := func(p any) int {
		switch v := p.(type) {
		case int:
			return v
		case string:
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
			return ports[v]
		}
		return 0
	}

	t.Run("all objects are labelled", func(t *testing.T) {
		for key, o := range objs {
			if o.Metadata.Labels["app.kubernetes.io/name"] != "tajo-agent" {
				t.Errorf("%s (%s): no label app.kubernetes.io/name: tajo-agent", key, o.file)
			}
		}
	})

	t.Run("deployment", func(t *testing.T) {
		if dep.Spec.Replicas != 2 {
			t.Errorf("replicas = %d, want 2", dep.Spec.Replicas)
		}
		if !selects(dep.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
			t.Errorf("selector %v does not select the pod labels %v", dep.Spec.Selector.MatchLabels, pod.Metadata.Labels)
		}
		wantArgs := []string{"run", "--store", "$(TAJO_STORE)", "--listen", ":8080", "--log-format", "json"}
		if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
			t.Errorf("args (-want +got)\n%s", diff)
		}
		if ports["http"] != 8080 {
			t.Errorf("container port http = %d, want 8080 (the --listen port)", ports["http"])
		}
		for _, p := range []struct {
			name  string
			probe *k8sProbe
			path  string
		}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("no %s httpGet probe", p.name)
				continue
			}
			if p.probe.HTTPGet.Path != p.path || portOf(p.probe.HTTPGet.Port) != 8080 {
				t.Errorf("%s probe = GET %s on port %v, want GET %s on 8080", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port, p.path)
			}
		}
		if g := time.Duration(pod.Spec.TerminationGracePeriodSeconds) * time.Second; g <= agentStopTime {
			t.Errorf("terminationGracePeriodSeconds = %s, want more than the %s the agent may take to stop", g, agentStopTime)
		}
		if !pod.Spec.SecurityContext.RunAsNonRoot || !c.SecurityContext.ReadOnlyRootFilesystem ||
			c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("want runAsNonRoot, readOnlyRootFilesystem and allowPrivilegeEscalation: false")
		}
		if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
			t.Errorf("image %q: pin a version tag", c.Image)
		}
		a := pod.Metadata.Annotations
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || portOf(a["prometheus.io/port"]) != 8080 {
			t.Errorf("pod annotations %v: want prometheus.io/scrape true, path /metrics, port 8080", a)
		}
	})

	t.Run("store URL from a Secret", func(t *testing.T) {
		var ref string
		for _, e := range c.Env {
			if e.Name == "TAJO_STORE" {
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Fatalf("TAJO_STORE must come from a secretKeyRef, not a literal")
				}
				ref = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
		name, key, _ := strings.Cut(ref, "/")
		var s k8sSecret
		mustGet(t, objs, "Secret/"+name).decode(t, &s)
		store, ok := s.StringData[key]
		if !ok {
			t.Fatalf("Secret %s has no key %s", name, key)
		}
		if !strings.HasPrefix(store, "postgres://") {
			t.Errorf("TAJO_STORE = %q: several replicas need PostgreSQL (postgres://…)", store)
		}
	})

	t.Run("secrets as files the connector references", func(t *testing.T) {
		var mount string
		for _, m := range c.VolumeMounts {
			if m.Name == "credentials" {
				mount = m.MountPath
				if !m.ReadOnly {
					t.Errorf("credentials mount is writable")
				}
			}
		}
		if mount != "/var/run/secrets/tajo" {
			t.Fatalf("credentials mounted at %q, want /var/run/secrets/tajo", mount)
		}
		var secretName string
		for _, v := range pod.Spec.Volumes {
			if v.Name == "credentials" && v.Secret != nil {
				secretName = v.Secret.SecretName
				if v.Secret.DefaultMode&0o007 != 0 {
					t.Errorf("defaultMode %#o lets others read the secrets", v.Secret.DefaultMode)
				}
			}
		}
		var s k8sSecret
		mustGet(t, objs, "Secret/"+secretName).decode(t, &s)

		// Every secret reference of the example connector is a file: reference
		// to a key of that Secret, and every key is used.
		tf := string(readFile(t, path.Join(k8sDir, "connector.tf")))
		refs := regexp.MustCompile(`(?m)^\s*(?:access_token|api_key|secret|client_secret)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(tf, -1)
		if len(refs) < 3 {
			t.Fatalf("connector.tf: found %d secret references, want the access token, API key and webhook secret", len(refs))
		}
		used := map[string]bool{}
		for _, r := range refs {
			file, ok := strings.CutPrefix(r[1], "file:")
			if !ok || path.Dir(file) != mount {
				t.Errorf("connector.tf: reference %q, want file:%s/<key>", r[1], mount)
				continue
			}
			if _, ok := s.StringData[path.Base(file)]; !ok {
				t.Errorf("connector.tf: %q names no key of Secret %s", r[1], secretName)
			}
			used[path.Base(file)] = true
		}
		for k := range s.StringData {
			if !used[k] {
				t.Errorf("Secret %s: key %s is not referenced by connector.tf", secretName, k)
			}
		}
	})

	t.Run("service", func(t *testing.T) {
		svcObj := mustGet(t, objs, "Service/tajo-agent")
		var svc k8sService
		svcObj.decode(t, &svc)
		if !selects(svc.Spec.Selector, pod.Metadata.Labels) {
			t.Errorf("selector %v does not select the pods %v", svc.Spec.Selector, pod.Metadata.Labels)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || portOf(svc.Spec.Ports[0].TargetPort) != 8080 {
			t.Errorf("ports %+v: want one port named http to the container's 8080", svc.Spec.Ports)
		}
		if a := svcObj.Metadata.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
			t.Errorf("annotations %v: want prometheus.io/scrape and prometheus.io/path /metrics", a)
		}

		var sm k8sServiceMonitor
		mustGet(t, objs, "ServiceMonitor/tajo-agent").decode(t, &sm)
		if !selects(sm.Spec.Selector.MatchLabels, svcObj.Metadata.Labels) {
			t.Errorf("ServiceMonitor selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, svcObj.Metadata.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoints %+v: want port http, path /metrics", sm.Spec.Endpoints)
		}

		var pdb k8sPDB
		mustGet(t, objs, "PodDisruptionBudget/tajo-agent").decode(t, &pdb)
		if !selects(pdb.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
			t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector.MatchLabels)
		}
	})

	t.Run("kustomization", func(t *testing.T) {
		var k struct {
			Resources []string `yaml:"resources"`
		}
		if err := yaml.Unmarshal(readFile(t, path.Join(k8sDir, "kustomization.yaml")), &k); err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		for _, r := range k.Resources {
			listed[r] = true
		}
		// The ServiceMonitor needs the Prometheus Operator's CRDs: applied on its own.
		for _, o := range objs {
			if want := o.Kind != "ServiceMonitor"; listed[o.file] != want {
				t.Errorf("kustomization.yaml: %s (%s) listed = %v, want %v", o.file, o.Kind, listed[o.file], want)
			}
		}
		for r := range listed {
			if _, err := os.Stat(filepath.Join(repoRoot, k8sDir, r)); err != nil {
				t.Errorf("kustomization.yaml: %v", err)
			}
		}
	})
}
