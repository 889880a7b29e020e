using MmCluster.Shared.Manifest;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>
/// The hostile-input corpus (issue 12): every row is skipped and counted with the right reason, naming its file and
/// row, within a few seconds, and nothing outside the manifest folder or the image root is ever opened.
/// </summary>
public sealed class HostileManifestSpecs : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly TempFolder _temp = new();
    private readonly string _manifest;
    private readonly string _outside;

    public HostileManifestSpecs()
    {
        _manifest = _temp.Combine("manifest");
        _outside = _temp.Combine("outside");
        Directory.CreateDirectory(Path.Combine(_manifest, "images"));
        Directory.CreateDirectory(_outside);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_refuse_and_never_open_a_path_when_it_resolves_outside_the_manifest()
    {
        var decoy = Path.Combine(_outside, "decoy.png");
        var decoyPipe = Path.Combine(_outside, "decoy.fifo");
        await File.WriteAllBytesAsync(decoy, HostileImages.Png(8, 8));
        SpecialFiles.MakeFifo(decoyPipe);
        await File.WriteAllBytesAsync(InManifest("images/ok.png"), HostileImages.Png(8, 8));
        File.CreateSymbolicLink(InManifest("images/alias.png"), "ok.png");
        File.CreateSymbolicLink(InManifest("images/link.png"), decoy);
        File.CreateSymbolicLink(InManifest("images/pipe-link.png"), decoyPipe);
        Directory.CreateSymbolicLink(InManifest("images/linked-dir"), _outside);
        File.CreateSymbolicLink(InManifest("images/zero.png"), "/dev/zero");
        Directory.CreateSymbolicLink(InManifest("images/up"), "..");
        using var watch = new OpenWatch(decoy, decoyPipe);

        var (rows, skips) = await ReadByPathAsync(
            ("dot-dot", "../outside/decoy.png"),
            ("dot-dot-pipe", "images/../../outside/decoy.fifo"),
            ("absolute", decoy),
            ("etc-passwd", "../../../../../../../../../etc/passwd"),
            ("etc-shadow", "/etc/shadow"),
            ("dev-zero", "/dev/zero"),
            ("link-to-file", "images/link.png"),
            ("link-to-pipe", "images/pipe-link.png"),
            ("linked-dir", "images/linked-dir/decoy.png"),
            ("linked-dir-pipe", "images/linked-dir/decoy.fifo"),
            ("link-to-device", "images/zero.png"),
            ("dot-dot-after-link", "images/up/../outside/decoy.png"),   // '..' after a link leaves its target, not images/
            ("inside", "images/ok.png"),
            ("inside-dot-dot", "images/../images/./ok.png"),
            ("inside-link", "images/alias.png"),
            ("inside-absolute", InManifest("images/ok.png")));

        Assert.Equal(["inside", "inside-dot-dot", "inside-link", "inside-absolute"], rows.Select(r => r.Key));
        Assert.Equal(12, skips.Count);
        Assert.All(skips, s => Assert.Equal(RowSkipReason.PathOutsideManifest, s.Reason));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), skips.Select(s => s.Row));
        Assert.All(skips, s => Assert.Equal(("part-00000.parquet", 0), (s.File, s.RowGroup)));
        Assert.Contains("part-00000.parquet, row group 0, row 4 (key 'etc-shadow'): skipped, PathOutsideManifest", skips[4].ToString());
        Assert.False(watch.SawOpen(), "a decoy outside the manifest was opened");
        Assert.Equal(["part-00000.parquet"], ParquetManifestReader.ListFiles(_manifest));   // images/up and linked-dir are not listed through
        _ = await File.ReadAllBytesAsync(decoy);
        Assert.True(watch.SawOpen(), "the watch sees opens");
    }

    [Fact]
    public async Task Should_read_an_image_root_when_it_is_configured_outside_the_manifest()
    {
        await File.WriteAllBytesAsync(Path.Combine(_outside, "a.png"), HostileImages.Png(8, 8));
        await WriteByPathAsync(("from-root", "a.png"), ("absolute-in-root", Path.Combine(_outside, "a.png")), ("escape-root", "../manifest/../../x.png"));

        var reader = new ParquetManifestReader(_manifest, imageRoot: _outside);
        var (rows, skips) = await ReadAllAsync(reader);

        Assert.Equal(["from-root", "absolute-in-root"], rows.Select(r => r.Key));
        Assert.Equal(RowSkipReason.PathOutsideManifest, Assert.Single(skips).Reason);
    }

    [Fact]
    public async Task Should_refuse_special_files_without_opening_them_when_they_are_inside_the_manifest()
    {
        var pipe = InManifest("images/pipe.png");
        SpecialFiles.MakeFifo(pipe);
        using var socket = SpecialFiles.MakeSocket(InManifest("images/socket.png"));
        Directory.CreateDirectory(InManifest("images/folder.png"));
        using var watch = new OpenWatch(pipe);

        var (_, skips) = await ReadByPathAsync(
            ("pipe", "images/pipe.png"), ("socket", "images/socket.png"), ("folder", "images/folder.png"), ("missing", "images/none.png"), ("no-path", ""));

        Assert.Equal(
            [RowSkipReason.NotARegularFile, RowSkipReason.NotARegularFile, RowSkipReason.NotARegularFile, RowSkipReason.ImageFileMissing, RowSkipReason.MissingImage],
            skips.Select(s => s.Reason));
        Assert.Contains("NamedPipe", skips[0].Detail);
        Assert.False(watch.SawOpen(), "the named pipe was opened");
    }

    [Fact]
    public async Task Should_refuse_a_device_when_the_image_root_holds_devices()
    {
        await WriteByPathAsync(("zero", "zero"), ("null", "null"));

        var reader = new ParquetManifestReader(_manifest, imageRoot: "/dev");
        var (_, skips) = await ReadAllAsync(reader);

        Assert.Equal([RowSkipReason.NotARegularFile, RowSkipReason.NotARegularFile], skips.Select(s => s.Reason));
        Assert.Contains("CharacterDevice", skips[0].Detail);
    }

    [Fact]
    public async Task Should_refuse_a_file_before_reading_it_when_it_is_over_the_size_limit()
    {
        await using (var sparse = File.Create(InManifest("images/huge.png")))
        {
            sparse.SetLength(10L << 30);   // 10 GiB, sparse: reading it would take minutes and exhaust memory
        }
        await File.WriteAllBytesAsync(InManifest("images/big.png"), HostileImages.Png(64, 64));
        await File.WriteAllBytesAsync(InManifest("images/small.png"), HostileImages.Png(4, 4));
        await WriteByPathAsync(("huge", "images/huge.png"), ("big", "images/big.png"), ("small", "images/small.png"));

        var limits = new ManifestReadLimits { MaxImageBytes = 1000 };
        var (rows, skips) = await ReadAllAsync(new ParquetManifestReader(_manifest, limits: limits));

        Assert.Equal(["small"], rows.Select(r => r.Key));
        Assert.Equal([RowSkipReason.ImageTooLarge, RowSkipReason.ImageTooLarge], skips.Select(s => s.Reason));
        Assert.Contains($"{10L << 30} bytes", skips[0].Detail);
    }

    [Fact]
    public async Task Should_skip_and_count_each_image_by_reason_when_embedded_images_are_hostile()
    {
        var png = HostileImages.Png(48, 48);
        var jpeg = HostileImages.Jpeg(48, 48);
        await using (var writer = new ParquetManifestWriter(_manifest, new ParquetManifestWriterOptions { RowsPerGroup = 4 }))
        {
            foreach (var (key, image) in new (string, byte[])[]
            {
                ("good-png", png),
                ("good-jpeg", jpeg),
                ("bomb", HostileImages.ClaimingSize(png, 30000, 30000)),
                ("png-truncated", HostileImages.Truncated(png)),
                ("png-idat-flipped", HostileImages.WithDamagedIdat(png, fixCrc: false)),
                ("png-deflate-damaged", HostileImages.WithDamagedIdat(png, fixCrc: true)),
                ("jpeg-truncated", HostileImages.Truncated(jpeg)),
                ("garbage", [1, 2, 3, 4, 5, 6, 7, 8]),
                ("empty", []),
                ("too-large", new byte[6000]),
            })
            {
                await writer.AddAsync(new ManifestRow(key, "a photo.", image));
            }
        }

        var limits = new ManifestReadLimits { MaxImageBytes = 5000 };
        var reader = new ParquetManifestReader(_manifest, limits: limits);
        var (rows, skips) = await ReadAllAsync(reader);

        Assert.True(png.Length < 5000 && jpeg.Length < 5000, $"fixtures too large: png {png.Length}, jpeg {jpeg.Length}");
        Assert.Equal(["good-png", "good-jpeg"], rows.Select(r => r.Key));
        Assert.Equal(
            [
                ("bomb", RowSkipReason.ImageTooManyPixels, 2L, 0),
                ("png-truncated", RowSkipReason.ImageUndecodable, 3L, 0),
                ("png-idat-flipped", RowSkipReason.ImageUndecodable, 4L, 1),
                ("png-deflate-damaged", RowSkipReason.ImageUndecodable, 5L, 1),
                ("jpeg-truncated", RowSkipReason.ImageUndecodable, 6L, 1),
                ("garbage", RowSkipReason.ImageUndecodable, 7L, 1),
                ("empty", RowSkipReason.MissingImage, 8L, 2),
                ("too-large", RowSkipReason.ImageTooLarge, 9L, 2),
            ],
            skips.Select(s => (s.Key!, s.Reason, s.Row, s.RowGroup)));
        Assert.Equal(5, reader.Stats.SkippedFor(RowSkipReason.ImageUndecodable));
        Assert.Equal(8, reader.Stats.SkippedUndecodableImage);
        Assert.Contains("900000000 pixels", skips[0].Detail);
    }

    [Fact]
    public async Task Should_cut_long_captions_and_skip_empty_ones_when_captions_are_hostile()
    {
        var huge = new string('x', 1 << 20);
        await using (var writer = new ParquetManifestWriter(_manifest, new ParquetManifestWriterOptions()))
        {
            await writer.AddAsync(new ManifestRow("huge", huge, HostileImages.Png(4, 4)));
            await writer.AddAsync(new ManifestRow("surrogate", new string('a', 9) + "😀", HostileImages.Png(4, 4)));
            await writer.AddAsync(new ManifestRow("empty", "", HostileImages.Png(4, 4)));
            await writer.AddAsync(new ManifestRow("null", null!, HostileImages.Png(4, 4)));
            await writer.AddAsync(new ManifestRow("blank", " \t\n", HostileImages.Png(4, 4)));
        }

        var (rows, skips) = await ReadAllAsync(new ParquetManifestReader(_manifest, limits: new ManifestReadLimits { MaxCaptionChars = 10 }));
        var reader = new ParquetManifestReader(_manifest);
        var (defaults, _) = await ReadAllAsync(reader);

        Assert.Equal(["xxxxxxxxxx", "aaaaaaaaa"], rows.Select(r => r.Caption));   // never half a surrogate pair
        Assert.Equal(ManifestReadLimits.DefaultMaxCaptionChars, defaults[0].Caption.Length);
        Assert.Equal(1, reader.Stats.CaptionsTruncated);
        Assert.Equal([("empty", 2L), ("null", 3L), ("blank", 4L)], skips.Select(s => (s.Key!, s.Row)));
        Assert.All(skips, s => Assert.Equal(RowSkipReason.EmptyCaption, s.Reason));
        Assert.Equal(new Dictionary<RowSkipReason, long> { [RowSkipReason.EmptyCaption] = 3 }, reader.Stats.SkippedByReason);
    }

    private string InManifest(string relative) => Path.Combine(_manifest, relative);

    private async Task<(List<ManifestRow> Rows, List<RowSkip> Skips)> ReadByPathAsync(params (string Key, string Path)[] rows)
    {
        await WriteByPathAsync(rows);
        return await ReadAllAsync(new ParquetManifestReader(_manifest));
    }

    private async Task WriteByPathAsync(params (string Key, string Path)[] rows)
    {
        await using var writer = new ParquetManifestWriter(_manifest, new ParquetManifestWriterOptions { Storage = ManifestImageStorage.ByPath });
        foreach (var (key, path) in rows)
        {
            await writer.AddAsync(new ManifestRow(key, "a photo.", [], ImagePath: path));
        }
    }

    /// <summary>Reads every shard within <see cref="Deadline"/> (a row that blocks or spins fails the spec), collecting the skips.</summary>
    private static async Task<(List<ManifestRow> Rows, List<RowSkip> Skips)> ReadAllAsync(ParquetManifestReader reader)
    {
        var skips = new List<RowSkip>();
        var stats = new ManifestReadStats { OnSkip = skips.Add };
        var rows = new List<ManifestRow>();
        var summary = await ParquetManifestReader.InspectAsync(reader.Folder);
        await Task.Run(async () =>
        {
            foreach (var shard in ShardPlanner.BuildShards(summary.Files))
            {
                await foreach (var row in reader.ReadShardAsync(shard, stats))
                {
                    rows.Add(row);
                }
            }
        }).WaitAsync(Deadline);
        Assert.Equal(skips.Count, stats.Skipped);
        return (rows, skips);
    }
}
