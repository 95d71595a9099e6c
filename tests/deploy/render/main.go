// Command render renders a Helm chart the way `helm template` does, for the checks in
// tests/deploy: Go text/template with the sprig functions and Helm's own additions (include,
// tpl, toYaml, fromYaml, toJson, required, fail, lookup), .Values from values.yaml merged with
// each -f file, .Files.Get, .Capabilities.APIVersions.Has, .Release, .Chart and .Template.
// helm cannot be installed here; this is built offline from Debian's golang packages
// (GO111MODULE=off, GOPATH=/usr/share/gocode).
//
// Usage:
//
//	render -chart helm/fieldwork [-f ci/x.yaml ...] [-release NAME] [-namespace NS]
//	       [-api-versions monitoring.coreos.com/v1/ServiceMonitor ...] [-notes]
//
// Prints the manifests as one multi-document YAML stream, each document preceded by a
// "# Source: <chart>/templates/<file>" line as helm prints it; with -notes prints the
// rendered NOTES.txt instead. Exits 1 with the template's error on failure.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// ChartMeta is the part of Chart.yaml that templates read as .Chart.
type ChartMeta struct {
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	AppVersion  string `yaml:"appVersion"`
	Description string `yaml:"description"`
	Type        string `yaml:"type"`
	APIVersion  string `yaml:"apiVersion"`
	KubeVersion string `yaml:"kubeVersion"`
}

// Release mirrors Helm's .Release.
type Release struct {
	Name      string
	Namespace string
	Service   string
	IsInstall bool
	IsUpgrade bool
	Revision  int
}

// APIVersions mirrors Helm's .Capabilities.APIVersions.
type APIVersions []string

// Has reports whether "group/version" or "group/version/Kind" is available, as Helm does.
func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// KubeVersion mirrors Helm's .Capabilities.KubeVersion.
type KubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

// Capabilities mirrors Helm's .Capabilities.
type Capabilities struct {
	APIVersions APIVersions
	KubeVersion KubeVersion
}

// Files mirrors Helm's .Files for the files inside the chart folder.
type Files struct{ root string }

// Get returns a file's content, or "" when it does not exist (as Helm does). Symlinks are
// followed, as `helm template` does when it loads a chart folder.
func (f Files) Get(name string) string {
	clean := filepath.Clean(name)
	if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(f.root, clean))
	if err != nil {
		return ""
	}
	return string(data)
}

// Template mirrors Helm's .Template.
type Template struct {
	Name     string
	BasePath string
}

// toYAML is Helm's toYaml: block style, two-space indent, no trailing newline.
func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	_ = enc.Close()
	return strings.TrimSuffix(buf.String(), "\n")
}

// normalise turns YAML-decoded data into what Helm's values hold: JSON types (numbers are
// float64, maps are map[string]interface{}), as sigs.k8s.io/yaml produces.
func normalise(v interface{}) (interface{}, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out interface{}
	err = json.Unmarshal(data, &out)
	return out, err
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	norm, err := normalise(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	m, ok := norm.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: the top level is not a mapping", path)
	}
	return m, nil
}

// mergeValues merges src over dst as Helm merges -f files: maps merge key by key, anything
// else replaces, and a null removes the key.
func mergeValues(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			mergeValues(dm, sm)
		} else {
			dst[k] = v
		}
	}
}

// mergedValues is values.yaml with each file merged over it in order.
func mergedValues(chartDir string, valueFiles []string) (map[string]interface{}, error) {
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range valueFiles {
		over, err := readYAMLMap(f)
		if err != nil {
			return nil, err
		}
		mergeValues(values, over)
	}
	return values, nil
}

func main() {
	chartDir := flag.String("chart", "", "chart folder")
	release := flag.String("release", "fieldwork", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	printValues := flag.Bool("print-values", false, "print the merged values as JSON instead of the manifests")
	var valueFiles, apiVersions listFlag
	flag.Var(&valueFiles, "f", "values file merged over values.yaml (repeatable)")
	flag.Var(&apiVersions, "api-versions", "available API version, e.g. monitoring.coreos.com/v1/ServiceMonitor (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		fmt.Fprintln(os.Stderr, "render: -chart is required")
		os.Exit(2)
	}
	if *printValues {
		values, err := mergedValues(*chartDir, valueFiles)
		if err != nil {
			fmt.Fprintln(os.Stderr, "render:", err)
			os.Exit(1)
		}
		data, _ := json.MarshalIndent(values, "", "  ")
		fmt.Println(string(data))
		return
	}
	out, err := render(*chartDir, *release, *namespace, valueFiles, apiVersions, *notes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func render(chartDir, release, namespace string, valueFiles, apiVersions []string, notes bool) (string, error) {
	var meta ChartMeta
	chartYAML, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	if err := yaml.Unmarshal(chartYAML, &meta); err != nil {
		return "", fmt.Errorf("Chart.yaml: %v", err)
	}
	values, err := mergedValues(chartDir, valueFiles)
	if err != nil {
		return "", err
	}
	// Helm's built-in API versions (the core groups) are always there.
	builtin := []string{"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2",
		"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"}
	caps := Capabilities{
		APIVersions: APIVersions(append(builtin, apiVersions...)),
		KubeVersion: KubeVersion{Version: "v1.28.0", Major: "1", Minor: "28", GitVersion: "v1.28.0"},
	}
	rel := Release{Name: release, Namespace: namespace, Service: "Helm", IsInstall: true, Revision: 1}

	root := template.New("chart").Option("missingkey=error")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		var raw interface{}
		if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
			return map[string]interface{}{"Error": err.Error()}
		}
		norm, _ := normalise(raw)
		m, _ := norm.(map[string]interface{})
		return m
	}
	funcs["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["lookup"] = func(string, string, string, string) map[string]interface{} {
		return map[string]interface{}{}
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	root.Funcs(funcs)

	templatesDir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(templatesDir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(templatesDir, e.Name()))
		if err != nil {
			return "", err
		}
		name := meta.Name + "/templates/" + e.Name()
		if _, err := root.New(name).Parse(string(data)); err != nil {
			return "", err
		}
		names = append(names, name)
	}
	sort.Strings(names)

	var out strings.Builder
	for _, name := range names {
		base := filepath.Base(name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes {
			continue
		}
		if !isNotes && !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") {
			continue
		}
		data := map[string]interface{}{
			"Values":       values,
			"Release":      rel,
			"Chart":        meta,
			"Capabilities": caps,
			"Files":        Files{root: chartDir},
			"Template":     Template{Name: name, BasePath: meta.Name + "/templates"},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if isNotes {
			out.WriteString(text)
			continue
		}
		for _, doc := range strings.Split(text, "\n---") {
			doc = strings.TrimPrefix(doc, "---")
			if strings.TrimSpace(doc) == "" || onlyComments(doc) {
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, strings.Trim(doc, "\n"))
		}
	}
	return out.String(), nil
}

func onlyComments(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}
