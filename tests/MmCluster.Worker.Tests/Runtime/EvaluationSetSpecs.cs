using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>The evaluation rows are read as the stage's spec says: from its image root, within its limits.</summary>
public sealed class EvaluationSetSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mmcluster-eval-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Should_read_images_from_the_image_root_and_cut_captions_to_the_limit_when_the_stage_config_sets_them()
    {
        var manifest = Path.Combine(_root, "manifest");
        var images = Path.Combine(_root, "images");   // outside the manifest folder: readable only as the image root
        Directory.CreateDirectory(images);
        var options = new ParquetManifestWriterOptions { Storage = ManifestImageStorage.ByPath, HasLabel = true, HasSplit = true };
        await using (var writer = new ParquetManifestWriter(manifest, options))
        {
            for (var i = 0; i < 3; i++)
            {
                var pixels = Enumerable.Range(0, 28 * 28).Select(p => (byte)(p * (i + 1))).ToArray();
                await File.WriteAllBytesAsync(Path.Combine(images, $"{i}.png"), GrayPng.Encode(pixels, 28, 28));
                await writer.AddAsync(new ManifestRow($"test-{i}", $"a photo of thing number {i}.", [], i, "test", ImagePath: $"{i}.png"));
            }
        }
        var config = new StageConfig
        {
            RunId = "r", RunDirectory = _root, Stage = "clip", Kind = "clip", Preset = "clip-tiny", ManifestPath = manifest,
            ImageRoot = images, ReadLimits = new ManifestReadLimits { MaxCaptionChars = 7 },
        };

        var set = await EvaluationSet.LoadAsync(config, ImageDecoder.FashionMnist, rank: 0, world: 1, CancellationToken.None);
        var withoutRoot = await EvaluationSet.LoadAsync(config with { ImageRoot = null }, ImageDecoder.FashionMnist, 0, 1, CancellationToken.None);

        Assert.Equal(3, set.Count);
        Assert.Equal([0, 1, 2], set.Labels);
        Assert.All(set.Captions, c => Assert.Equal("a photo", c));
        Assert.Equal(0, withoutRoot.Count);
    }

    [Fact]
    public async Task Should_load_the_slice_of_the_current_generation_when_a_recovery_changed_rank_or_world()
    {
        var manifest = Path.Combine(_root, "manifest");
        var options = new ParquetManifestWriterOptions { Storage = ManifestImageStorage.Embedded, HasLabel = true, HasSplit = true };
        await using (var writer = new ParquetManifestWriter(manifest, options))
        {
            for (var i = 0; i < 6; i++)
            {
                var pixels = Enumerable.Range(0, 28 * 28).Select(p => (byte)(p + i)).ToArray();
                await writer.AddAsync(new ManifestRow($"test-{i}", $"thing {i}", GrayPng.Encode(pixels, 28, 28), i, "test"));
            }
        }
        var config = new StageConfig { RunId = "r", RunDirectory = _root, Stage = "clip", Kind = "clip", Preset = "clip-tiny", ManifestPath = manifest };
        var groups = MmCluster.Collectives.InProcess.InProcessCollectiveGroup.Create(3);
        var group = new RebindableGroup(groups[1]);   // rank 1 of 3
        var slices = new EvaluationSlices(config, ImageDecoder.FashionMnist, group);

        var first = slices.Current();
        var again = slices.Current();
        group.Inner = MmCluster.Collectives.InProcess.InProcessCollectiveGroup.Create(2)[1];   // a shrink: rank 1 of 2
        var shrunk = slices.Current();

        Assert.Same(first, again);
        Assert.Equal([1, 4], first.Labels);
        Assert.Equal([1, 3, 5], shrunk.Labels);
    }
}
