package nets

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	torch "gogan/cgo"
)

// Net is a network: a tree of modules with PyTorch state-dict names.
type Net struct {
	Role    string  // "generator" or "discriminator"
	Options Options // as built, defaults filled in

	root    Module
	st      *state
	dev     torch.Device
	downs   int           // a U-Net's downsamplings
	modules []Module      // pre-order
	sd      []torch.Named // parameters and buffers, state-dict order
	params  []*torch.Tensor
	isParam map[string]bool
	freed   bool
}

func newNet(role string, o Options, downs int, build func() Module, dev torch.Device) (*Net, error) {
	var root Module
	if err := torch.Try(func() { root = build() }); err != nil {
		if tooLarge(err) {
			return nil, fmt.Errorf("nets: build %s %s on %s: %w\nits weights do not fit in the memory of %s: lower %s", o.Kind, role, dev, err, dev, sizeKeys(role, o))
		}
		return nil, fmt.Errorf("nets: build %s %s on %s: %w", o.Kind, role, dev, err)
	}
	n := &Net{Role: role, Options: o, root: root, st: &state{training: true}, dev: dev, downs: downs,
		isParam: map[string]bool{}}
	visit(root, "", func(m Module, prefix string) {
		b := m.base()
		b.st, b.path = n.st, prefix
		n.modules = append(n.modules, m)
		for _, p := range b.params {
			k := stateKey(prefix, p.name)
			n.sd = append(n.sd, torch.Named{Name: k, Tensor: p.t})
			n.params = append(n.params, p.t)
			n.isParam[k] = true
		}
		for _, p := range b.buffers {
			n.sd = append(n.sd, torch.Named{Name: stateKey(prefix, p.name), Tensor: p.t})
		}
	})
	return n, nil
}

// tooLarge says whether err is libtorch's refusal of a tensor too large to
// allocate (or to count the bytes of).
func tooLarge(err error) bool {
	return torch.IsOutOfMemory(err) || strings.Contains(err.Error(), "Storage size calculation overflowed")
}

// sizeKeys names the config keys that size a network of role and o.Kind.
func sizeKeys(role string, o Options) string {
	switch {
	case o.Kind == "encoder":
		return "model.nef or model.feat_num"
	case role == "discriminator":
		return "model.ndf (model.n_layers_D, model.num_D)"
	case o.Kind == "dcgan":
		return "model.ngf or model.nz"
	case o.Kind == "global" || o.Kind == "local":
		return "model.ngf (model.n_blocks_global, model.n_blocks_local)"
	}
	return "model.ngf"
}

// stateKey is the state-dict key of a module's parameter or buffer name
// under the module's prefix.
func stateKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Forward runs the network on x (a multiscale discriminator: its
// full-resolution scale's last output; see ForwardMultiScale). The result is
// made in the caller's scope.
func (n *Net) Forward(x *torch.Tensor) *torch.Tensor {
	if ms, ok := n.root.(*multiscale); ok {
		return ms.forwardFirst(x)
	}
	return call(n.root, x)
}

// ForwardMultiScale is the discriminator's outputs at every scale, the
// full-resolution one first (pix2pixHD's MultiscaleDiscriminator.forward):
// with GetIntermFeat, each scale's list holds every block's output, the
// prediction last; otherwise only the prediction. A VGG19 gives its five
// feature maps as one scale. Any other network gives
// [][]{{Forward(x)}}.
func (n *Net) ForwardMultiScale(x *torch.Tensor) [][]*torch.Tensor {
	if ms, ok := n.root.(*multiscale); ok {
		return ms.forwardAll(x)
	}
	if v, ok := n.root.(*vggRoot); ok {
		return [][]*torch.Tensor{v.slices(x)}
	}
	return [][]*torch.Tensor{{n.Forward(x)}}
}

// Parameters are the trainable tensors, in state-dict order. They belong to
// the network: do not free them.
func (n *Net) Parameters() []*torch.Tensor { return append([]*torch.Tensor(nil), n.params...) }

// StateDict is the parameters and buffers under their PyTorch keys, in
// PyTorch's order (each module's parameters, then its buffers, then its
// children's). The tensors are the network's own, not copies.
func (n *Net) StateDict() []torch.Named { return append([]torch.Named(nil), n.sd...) }

// IsParameter reports whether a state-dict key is a trainable parameter (not a buffer).
func (n *Net) IsParameter(key string) bool { return n.isParam[key] }

// Device is where the network's tensors live.
func (n *Net) Device() torch.Device { return n.dev }

// SetTraining puts the network in train (true) or eval mode: BatchNorm's
// batch statistics and running-stat updates, Dropout.
func (n *Net) SetTraining(on bool) { n.st.training = on }

// Training reports the mode.
func (n *Net) Training() bool { return n.st.training }

// NumParams is the number of trainable values (PyTorch's
// sum(p.numel() for p in net.parameters())).
func (n *Net) NumParams() int64 {
	var s int64
	for _, p := range n.params {
		s += p.Numel()
	}
	return s
}

// Free releases the parameters and buffers. Idempotent.
func (n *Net) Free() {
	for _, e := range n.sd {
		e.Tensor.Free()
	}
	n.freed = true
}

// maxProblemsListed is how many of a state dict's problems an error lists.
const maxProblemsListed = 8

// LoadStateDict copies values from sd (from any device, converting dtypes as
// PyTorch's load_state_dict does) into the network. It is strict: a missing
// key, an unexpected key or a shape that differs is an error naming the key
// and both shapes, and then nothing is copied.
func (n *Net) LoadStateDict(sd []torch.Named) error {
	if n.freed {
		return errors.New("nets: load state dict: the network was freed")
	}
	own := make(map[string]*torch.Tensor, len(n.sd))
	for _, e := range n.sd {
		own[e.Name] = e.Tensor
	}
	var problems []string
	seen := make(map[string]bool, len(sd))
	var copies [][2]*torch.Tensor
	for _, e := range sd {
		if seen[e.Name] {
			problems = append(problems, fmt.Sprintf("key %q given twice", e.Name))
			continue
		}
		seen[e.Name] = true
		if e.Tensor == nil || e.Tensor.Freed() {
			problems = append(problems, fmt.Sprintf("key %q: no tensor (nil or freed)", e.Name))
			continue
		}
		var shape []int64
		if err := torch.Try(func() { shape = e.Tensor.Shape() }); err != nil {
			problems = append(problems, fmt.Sprintf("key %q: %v", e.Name, err))
			continue
		}
		dst, ok := own[e.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("unexpected key %q (shape %s)", e.Name, shapeString(shape)))
			continue
		}
		want := dst.Shape()
		if !sameShape(shape, want) {
			problems = append(problems, fmt.Sprintf("key %q: shape %s in the state dict, %s in the network",
				e.Name, shapeString(shape), shapeString(want)))
			continue
		}
		copies = append(copies, [2]*torch.Tensor{dst, e.Tensor})
	}
	for _, e := range n.sd {
		if !seen[e.Name] {
			problems = append(problems, fmt.Sprintf("missing key %q (shape %s in the network)", e.Name,
				shapeString(e.Tensor.Shape())))
		}
	}
	if len(problems) > maxProblemsListed {
		// Another network altogether: hundreds of keys would bury the point.
		var unexpected, missing, shaped int
		for _, p := range problems {
			switch {
			case strings.HasPrefix(p, "unexpected key"):
				unexpected++
			case strings.HasPrefix(p, "missing key"):
				missing++
			case strings.Contains(p, "in the state dict,"):
				shaped++
			}
		}
		return fmt.Errorf("nets: load state dict into %s %s: %d problems (%d unexpected keys, %d missing, %d of another shape; the state dict has %d keys, the network %d): it holds another network, or one built with other settings (model.netG, netD, ngf, ndf, norm, n_layers_D, input_nc, ...); the first %d: %s",
			n.Options.Kind, n.Role, len(problems), unexpected, missing, shaped, len(sd), len(n.sd), maxProblemsListed, strings.Join(problems[:maxProblemsListed], "; "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("nets: load state dict into %s %s: %s", n.Options.Kind, n.Role, strings.Join(problems, "; "))
	}
	return torch.Try(func() {
		for _, c := range copies {
			c[0].CopyFrom(c[1])
		}
	})
}

// LoadPyTorchStateDict loads a state dict that PyTorch saved, accepting
// what files saved before PyTorch 0.4 (the references' published models)
// hold, as the references load them: InstanceNorm layers' running_mean,
// running_var and num_batches_tracked, which the layers here do not track,
// are dropped (pytorch-CycleGAN-and-pix2pix's
// __patch_instance_norm_state_dict); a BatchNorm layer's missing
// num_batches_tracked starts at 0 (BatchNorm's _load_from_state_dict for a
// state dict without version metadata). Anything else is LoadStateDict's
// strict check. notes say what was dropped or filled in.
func (n *Net) LoadPyTorchStateDict(sd []torch.Named) (notes []string, err error) {
	if stripped, prefix := n.withoutWrapper(sd); prefix != "" {
		sd = stripped
		notes = append(notes, fmt.Sprintf("the network's keys are under %q (the state dict saved inside a dict, or by DataParallel): taken from there without it", prefix))
	}
	untracked := map[string]bool{} // keys of statistics an InstanceNorm here does not track
	var counters [][2]string       // each tracking BatchNorm's num_batches_tracked and running_mean keys
	for _, m := range n.modules {
		switch l := m.(type) {
		case *InstanceNorm2d:
			if !l.track {
				for _, k := range []string{"running_mean", "running_var", "num_batches_tracked"} {
					untracked[stateKey(l.path, k)] = true
				}
			}
		case *BatchNorm2d:
			if l.track {
				counters = append(counters, [2]string{stateKey(l.path, "num_batches_tracked"), stateKey(l.path, "running_mean")})
			}
		}
	}
	have := make(map[string]bool, len(sd))
	kept := make([]torch.Named, 0, len(sd))
	for _, e := range sd {
		have[e.Name] = true
		if !untracked[e.Name] {
			kept = append(kept, e)
		}
	}
	dropped := len(sd) - len(kept)
	var zeros []*torch.Tensor
	defer func() {
		for _, z := range zeros {
			z.Free()
		}
	}()
	for _, c := range counters {
		if key := c[0]; !have[key] && have[c[1]] {
			var z *torch.Tensor
			if err := torch.Try(func() { z = torch.Zeros(torch.Int64, torch.CPUDevice).Persist() }); err != nil {
				return nil, err
			}
			zeros = append(zeros, z)
			kept = append(kept, torch.Named{Name: key, Tensor: z})
		}
	}
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("dropped %d running statistics of InstanceNorm layers that track none (a state dict saved before PyTorch 0.4)", dropped))
	}
	if len(zeros) > 0 {
		notes = append(notes, fmt.Sprintf("num_batches_tracked of %d BatchNorm layers set to 0 (a state dict saved before PyTorch 0.4)", len(zeros)))
	}
	return notes, n.LoadStateDict(kept)
}

// withoutWrapper finds the prefix under which a state dict's keys were
// saved when it was saved wrapped: torch.save({"state_dict": sd}) or
// {"model": sd, "optimizer": ...}, a DataParallel module's "module.", or
// both. When no key is one of the network's, it tries every prefix of up
// to three leading segments and keeps the one whose keys, without it, are
// most often the network's: those keys without it, and the prefix (the
// rest, an optimizer's say, are left out).
func (n *Net) withoutWrapper(sd []torch.Named) ([]torch.Named, string) {
	ours := make(map[string]bool, len(n.sd))
	for _, e := range n.sd {
		ours[e.Name] = true
	}
	if slices.ContainsFunc(sd, func(e torch.Named) bool { return ours[e.Name] }) {
		return sd, ""
	}
	hits := map[string]int{}
	for _, e := range sd {
		rest := e.Name
		for prefix := ""; ; {
			seg, r, ok := strings.Cut(rest, ".")
			if !ok || strings.Count(prefix, ".") == 3 {
				break
			}
			prefix, rest = prefix+seg+".", r
			if ours[rest] {
				hits[prefix]++
			}
		}
	}
	best := ""
	for p, h := range hits {
		if h > hits[best] || (h == hits[best] && p < best) {
			best = p
		}
	}
	if best == "" {
		return sd, ""
	}
	var out []torch.Named
	for _, e := range sd {
		if rest, ok := strings.CutPrefix(e.Name, best); ok {
			out = append(out, torch.Named{Name: rest, Tensor: e.Tensor})
		}
	}
	return out, best
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Save writes the state dict to a safetensors file (PyTorch reads it with
// scripts/safetensors_torch.py or the safetensors package).
func (n *Net) Save(path string, meta map[string]string) error {
	return torch.SaveSafetensors(path, n.sd, meta)
}

// Load reads a safetensors state dict into the network (LoadStateDict's rules).
func (n *Net) Load(path string) error {
	ts, _, err := torch.LoadSafetensors(path)
	if err != nil {
		return err
	}
	defer torch.FreeNamed(ts)
	if err := n.LoadStateDict(ts); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Init initialises the weights as pytorch-CycleGAN-and-pix2pix's init_weights(net,
// kind, gain): convolution weights from normal N(0, gain), xavier (xavier_normal_,
// gain), kaiming (kaiming_normal_, a=0, fan_in; gain unused) or orthogonal (gain),
// their biases 0; BatchNorm2d weights N(1, gain), biases 0. Layers are visited in
// PyTorch's Module.apply order, so the same seed gives the same weights as
// the reference. DCGAN's weights_init is Init("normal", 0.02); pix2pixHD's is
// Init("pix2pixhd", 0.02), which leaves the convolutions' biases as built.
func (n *Net) Init(kind string, gain float64) error {
	var initW func(w *torch.Tensor)
	keepBias := false
	switch kind {
	case "pix2pixhd":
		// pix2pixHD's weights_init: N(0, gain) conv weights, the biases
		// left as PyTorch initialised them.
		initW, keepBias = func(w *torch.Tensor) { w.FillNormal(0, gain) }, true
	case "normal":
		initW = func(w *torch.Tensor) { w.FillNormal(0, gain) }
	case "xavier":
		initW = func(w *torch.Tensor) { w.Init(torch.XavierNormal, gain) }
	case "kaiming":
		initW = func(w *torch.Tensor) { w.Init(torch.KaimingNormal, 0) }
	case "orthogonal":
		initW = func(w *torch.Tensor) { w.Init(torch.Orthogonal, gain) }
	default:
		return fmt.Errorf("nets: init %q: must be normal, xavier, kaiming, orthogonal or pix2pixhd", kind)
	}
	conv := func(w, b *torch.Tensor) {
		initW(w)
		if b != nil && !keepBias {
			b.Fill(0)
		}
	}
	err := torch.Try(func() {
		// Module.apply is post-order; only leaves have parameters, and
		// leaves come in the same order either way.
		for _, m := range n.modules {
			switch l := m.(type) {
			case *Conv2d:
				conv(l.Weight, l.Bias)
			case *ConvTranspose2d:
				conv(l.Weight, l.Bias)
			case *BatchNorm2d:
				if l.Weight != nil {
					l.Weight.FillNormal(1, gain)
					l.Bias.Fill(0)
				}
			}
		}
	})
	if err != nil {
		return fmt.Errorf("nets: init %s: %w", kind, err)
	}
	return nil
}

// InputShape is a natural input for the network with batch b: DCGAN's
// generator takes [b, NZ, 1, 1]; the others images [b, InputNC, S, S] with S
// the ImageSize, or 2^num_downs for a U-Net and 256 for the rest when it is 0.
func (n *Net) InputShape(b int64) []int64 {
	o := n.Options
	if o.Kind == "dcgan" && n.Role == "generator" {
		return []int64{b, int64(o.NZ), 1, 1}
	}
	s := int64(o.ImageSize)
	if s == 0 {
		s = 256
		if n.downs > 0 {
			s = 1 << n.downs
		}
	}
	return []int64{b, int64(o.InputNC), s, s}
}

// Describe works out the network's shapes on an input of the given shape
// (InputShape(1) when nil), in eval mode without gradients and without
// changing any buffer, and returns a table of its layers: state-dict name,
// layer, output shape and parameters (a block's row counts its layers'),
// then the totals.
func (n *Net) Describe(input []int64) (string, error) {
	if input == nil {
		input = n.InputShape(1)
	}
	rows, outs, err := n.layerRows(input)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tlayer\toutput\tparams")
	for _, r := range rows {
		p := ""
		if r.params > 0 {
			p = thousands(r.params)
			if r.block {
				p = "(" + p + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\n", r.name, strings.Repeat("  ", r.depth), r.layer, shapeString(r.shape), p)
	}
	tw.Flush()
	var bufVals int64
	nbuf := 0
	for _, e := range n.sd {
		if !n.isParam[e.Name] {
			bufVals += e.Tensor.Numel()
			nbuf++
		}
	}
	outStr := make([]string, len(outs))
	for i, scale := range outs {
		parts := make([]string, len(scale))
		for j, s := range scale {
			parts[j] = shapeString(s)
		}
		outStr[i] = strings.Join(parts, ", ")
	}
	out := outStr[0]
	if len(outs) > 1 || len(outs[0]) > 1 {
		out = "scales: {" + strings.Join(outStr, "}, {") + "}"
	}
	fmt.Fprintf(&b, "input %s -> output %s\n", shapeString(input), out)
	fmt.Fprintf(&b, "parameters: %s in %d tensors; buffers: %s values in %d tensors\n",
		thousands(n.NumParams()), len(n.params), thousands(bufVals), nbuf)
	return b.String(), nil
}

// layerRows records Describe's rows and the network's output shapes on
// input (for each scale, each output).
func (n *Net) layerRows(input []int64) ([]row, [][][]int64, error) {
	if n.freed {
		return nil, nil, errors.New("nets: describe: the network was freed")
	}
	if len(input) == 0 || slices.ContainsFunc(input, func(d int64) bool { return d < 1 }) {
		return nil, nil, fmt.Errorf("nets: describe %s %s: input shape %s: want a batch and sizes of 1 or more", n.Options.Kind, n.Role, shapeString(input))
	}
	// An empty batch first: libtorch works out every layer's shape without
	// computing a value (seconds and gigabytes saved on pix2pixHD's sizes).
	// Where a layer folds the batch into another dimension (DCGAN D's
	// flattened output) its size is not the batch's, and the network runs
	// on the batch asked for.
	rows, outs, err := n.shapesOn(append([]int64{0}, input[1:]...))
	if err == nil && !sameRanks(rows, outs, len(input)) {
		rows, outs, err = n.shapesOn(input)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("nets: describe %s %s on input %s: %w", n.Options.Kind, n.Role, shapeString(input), err)
	}
	for i := range rows {
		rows[i].shape = withBatch(rows[i].shape, input[0])
	}
	for _, scale := range outs {
		for j := range scale {
			scale[j] = withBatch(scale[j], input[0])
		}
	}
	return rows, outs, nil
}

// shapesOn runs the network on zeros of shape input, in eval mode without
// gradients, recording its layers' rows and its outputs' shapes.
func (n *Net) shapesOn(input []int64) ([]row, [][][]int64, error) {
	rec := &recorder{}
	was := n.st.training
	n.st.training, n.st.rec = false, rec
	defer func() { n.st.training, n.st.rec = was, nil }()
	var outs [][][]int64
	err := torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.NoGrad(func() {
			for _, scale := range n.ForwardMultiScale(torch.Zeros(torch.Float32, n.dev, input...)) {
				var shapes [][]int64
				for _, t := range scale {
					shapes = append(shapes, t.Shape())
				}
				outs = append(outs, shapes)
			}
		})
	})
	return rec.rows, outs, err
}

// sameRanks says whether every layer's and output's shape has the input's
// rank, its first dimension then the batch.
func sameRanks(rows []row, outs [][][]int64, rank int) bool {
	for _, r := range rows {
		if r.shape != nil && len(r.shape) != rank { // nil: a block that returns no one tensor
			return false
		}
	}
	for _, scale := range outs {
		for _, s := range scale {
			if len(s) != rank {
				return false
			}
		}
	}
	return true
}

// withBatch is a shape of the empty batch's pass with the batch asked for
// (a shape of the real batch's is left as it is).
func withBatch(shape []int64, b int64) []int64 {
	if len(shape) > 0 && shape[0] == 0 {
		shape = append([]int64{b}, shape[1:]...)
	}
	return shape
}

// thousands prints 3576704 as 3,576,704.
func thousands(v int64) string {
	s := fmt.Sprint(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
