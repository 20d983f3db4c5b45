package infer

import (
	"fmt"
	"log/slog"
	"os"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/nets"
	"gogan/report"
	"gogan/runfolder"
)

// translateMaps runs a generator whose input a recipe encodes (pix2pixHD:
// class-id label maps, one-hot, and instance boundaries; features) on the
// label maps (or, with data.label_nc 0, the images), the instance maps and
// the photos, paired by sorted position as pix2pixHD's test.py pairs
// test_label/, test_inst/ and test_img/. Each input is resized (nearest for
// maps, bicubic for photos) as testSize says, without random crops or flips.
func translateMaps(ck runfolder.Checkpoint, cfg *config.Config, tr gan.Translation, o TranslateOptions, dev torch.Device) (n int, err error) {
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		return 0, err
	}
	dir, instances, eval := o.Input, o.Instances, o.Eval
	// one label map (or image), with its instance map and photo as files
	// too: translated as a folder of one
	fi, err := os.Stat(dir)
	single := err == nil && fi.Mode().IsRegular()
	files := func(path, flag string) ([]string, error) { return folderFiles(path, flag, dir) }
	if single {
		files = func(path, flag string) ([]string, error) { return oneFile(path, flag, dir) }
	}
	inputs, err := files(dir, "--input")
	if err != nil {
		return 0, err
	}
	var photos []string
	var enc gan.Encoders
	switch {
	case !tr.Photos && (o.Photos != "" || o.Features != ""):
		return 0, fmt.Errorf("--photos or --features: the generator of %s takes no features (pix2pixHD's model.instance_feat or model.label_feat)", ck.Dir)
	case tr.Photos && o.Photos != "" && o.Features != "":
		return 0, fmt.Errorf("--photos %s and --features %s: the features come either from the photos or from the clusters; give one", o.Photos, o.Features)
	case tr.Photos && o.Photos == "" && o.Features == "":
		return 0, fmt.Errorf("the generator of %s takes features of each region (pix2pixHD's model.instance_feat or model.label_feat): give --features with the file gogan features clusters them into (as test.py), or the photos that go with %s with --photos (test.py --use_encoded_image)", ck.Dir, dir)
	case o.Photos != "":
		if photos, err = files(o.Photos, "--photos"); err != nil {
			return 0, err
		}
		if len(photos) != len(inputs) {
			return 0, fmt.Errorf("--input %s has %s but --photos %s has %d: they pair by sorted position", dir, data.Count(len(inputs), "file"), o.Photos, len(photos))
		}
	}
	var insts []string
	switch {
	case dc.Instance && instances == "":
		return 0, fmt.Errorf("the generator of %s takes instance boundaries: give the folder of instance maps that go with %s with --instances (pix2pixHD's test_inst/)", ck.Dir, dir)
	case !dc.Instance && instances != "":
		return 0, fmt.Errorf("--instances %s: the generator of %s takes no instance maps (it trained with data.no_instance)", instances, ck.Dir)
	case dc.Instance:
		if insts, err = files(instances, "--instances"); err != nil {
			return 0, err
		}
		if len(insts) != len(inputs) {
			return 0, fmt.Errorf("--input %s has %s but --instances %s has %d: they pair by sorted position", dir, data.Count(len(inputs), "file"), instances, len(insts))
		}
	}
	spec, err := gan.NetSpecOf(cfg, tr.Role)
	if err != nil {
		return 0, err
	}
	// the sides every network that sees the input takes (powers of two:
	// the largest is a multiple of the others)
	mult, least := nets.InputMultiple(spec.Options), nets.MinInput(spec.Options)
	for _, role := range tr.Nets {
		s, err := gan.NetSpecOf(cfg, role)
		if err != nil {
			return 0, err
		}
		mult, least = max(mult, nets.InputMultiple(s.Options)), max(least, nets.MinInput(s.Options))
	}
	for _, w := range data.PairedFoldersWarnings(dc.LabelNC, dir, inputs, o.Photos, photos, instances, insts) {
		slog.Warn(w)
	}
	inputs = o.limit(inputs) // the pairs' other files go by position
	size, err := newTestSize(dc, o, mult, least)
	if err != nil {
		return 0, err
	}
	// for one --input file these are files: the output goes beside them,
	// but over none
	folders := map[string]string{"--input": dir, "--instances": instances, "--photos": o.Photos}
	outs, g, finish, err := startTranslations(ck, cfg, tr.Role, dev, o, inputs, folders)
	if err != nil {
		return 0, err
	}
	defer func() { finish(err != nil) }()
	if tr.Photos {
		var release func()
		if enc.Nets, release, err = LoadNets(ck, cfg, tr.Nets, dev, !eval); err != nil {
			return 0, err
		}
		defer release()
	}
	if o.Features != "" {
		if enc.Features, err = tr.LoadFeatures(o.Features, o.Seed, ck, enc.Nets); err != nil {
			return 0, fmt.Errorf("--features: %w", err)
		}
	}
	// load reads input i and what goes with it, at the size it is
	// translated at.
	load := func(i int) (data.Sample, error) {
		path := inputs[i]
		var a *data.Image
		var err error
		if dc.LabelNC > 0 {
			a, err = data.LoadLabelMapFor(path, dc.LabelNC, ck.Dir)
		} else {
			a, err = data.LoadImage(path, dc.InputNC)
		}
		if err != nil {
			return data.Sample{}, err
		}
		w, h, err := size.of(a.W, a.H)
		if err != nil {
			return data.Sample{}, fmt.Errorf("%s: %w", path, err)
		}
		filter := data.Bicubic
		if dc.LabelNC > 0 {
			filter = data.Nearest
		}
		smp := data.Sample{A: data.Resize(a, w, h, filter), LabelMap: dc.LabelNC > 0, Label: -1}
		if dc.Instance {
			inst, err := data.LoadInstanceMap(insts[i])
			if err != nil {
				return smp, err
			}
			if inst.W != a.W || inst.H != a.H {
				return smp, fmt.Errorf("%s %s", insts[i], data.SizeMismatch(inst.W, inst.H, "input", path, a.W, a.H, true))
			}
			resized := data.Resize(inst, w, h, data.Nearest)
			smp.Inst = data.InstanceEdges(resized)
			if dc.InstanceIDs {
				smp.InstIDs = resized
			}
		}
		if photos != nil {
			photo, err := data.LoadImage(photos[i], dc.OutputNC)
			if err != nil {
				return smp, err
			}
			if photo.W != a.W || photo.H != a.H {
				return smp, fmt.Errorf("%s %s", photos[i], data.SizeMismatch(photo.W, photo.H, "input", path, a.W, a.H, false))
			}
			smp.B = data.Resize(photo, w, h, data.Bicubic)
		}
		return smp, nil
	}
	return writeTranslations(inputs, outs, o, tr.PNG(), load, func(smp data.Sample) report.Images {
		b := gan.BatchOf([]data.Sample{smp})
		for name, t := range b {
			b[name] = t.To(dev)
		}
		return report.ToImages(g.Forward(tr.Encode(b, enc)))
	})
}

// oneFile is path, a flag's file that goes with the --input file in:
// a folder there is refused, as is a file given with a folder --input.
func oneFile(path, flag, in string) ([]string, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s %s is a folder, but --input %s is one file: give %s the file that goes with it", flag, path, in, flag)
	}
	return []string{path}, nil
}

// folderFiles is imageFiles of path, a flag's folder that goes with the
// --input folder in: a file there is refused as oneFile refuses a folder
// given with a file --input, naming the mismatch (isFolder's "the folder
// it is in" would pair one file with a folder of them).
func folderFiles(path, flag, in string) ([]string, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is a file, but --input %s is a folder: give %s the folder that goes with it", flag, path, in, flag)
	}
	return imageFiles(path, flag)
}

// imageFiles lists the image files under dir, in its subfolders too
// (Cityscapes' city folders), sorted by path: as test.py's
// sorted(make_dataset), and as gogan reads a training split.
func imageFiles(dir, flag string) ([]string, error) {
	if err := isFolder(flag, dir); err != nil {
		return nil, err
	}
	files, err := data.ImagesUnder(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s %s: no image files", flag, dir)
	}
	return files, nil
}
