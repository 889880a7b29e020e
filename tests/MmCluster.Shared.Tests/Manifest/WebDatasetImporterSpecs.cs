using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using SkiaSharp;
using Xunit;
using static MmCluster.Shared.Tests.Manifest.WebDatasetFixtures;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class WebDatasetImporterSpecs : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_write_every_complete_sample_and_name_each_bad_member_by_reason_when_a_tar_holds_both()
    {
        var (jpeg, png, webp) = (Image(1), Image(2, SKEncodedImageFormat.Png), Image(3, SKEncodedImageFormat.Webp));
        var whole = Image(4, width: 200, height: 150);
        var broken = whole[..(whole.Length * 2 / 3)];   // a JPEG whose body ends early
        WriteTar(_temp.Combine("00000.tar"),
        [
            .. Sample("000000000", jpeg),
            .. Sample("000000001", png, "png"),
            (Image(5) is var noCaption ? "000000002.jpg" : "", noCaption),
            WebDatasetFixtures.Text("000000002.json", "{}"),
            WebDatasetFixtures.Text("000000003.txt", "a caption whose image img2dataset failed to fetch"),
            .. Sample("000000004", broken),
            .. Sample("000000005", webp, "webp"),
            WebDatasetFixtures.Text("000000005.seg", "a member of no known kind"),
            .. Sample("000000000", Image(6)),
            .. Sample("000000006", Image(7), "jpeg"),
            ("000000006.png", Image(8, SKEncodedImageFormat.Png)),
        ]);
        var skips = new List<WebDatasetSkip>();

        var result = await WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([_temp.Combine("00000.tar")], _temp.Combine("out")), onSkip: skips.Add);

        Assert.Equal(
            [
                ("000000002.jpg", WebDatasetSkipReason.MissingCaption), ("000000003.txt", WebDatasetSkipReason.MissingImage),
                ("000000004.jpg", WebDatasetSkipReason.ImageUndecodable), ("000000005.seg", WebDatasetSkipReason.UnknownMember),
                ("000000000.jpg", WebDatasetSkipReason.DuplicateKey), ("000000006.png", WebDatasetSkipReason.DuplicateKey),
            ],
            skips.Select(s => (s.Member, s.Reason)));
        Assert.All(skips, s => Assert.Equal(_temp.Combine("00000.tar"), s.Tar));
        Assert.StartsWith("Jpeg 200x150", skips[2].Detail);
        var image6 = Image(7);
        Assert.Equal((4L, (long)(jpeg.Length + png.Length + webp.Length + image6.Length)), (result.Rows, result.ImageBytes));
        Assert.Equal(new Dictionary<string, long> { ["DuplicateKey"] = 2, ["ImageUndecodable"] = 1, ["MissingCaption"] = 1, ["MissingImage"] = 1, ["UnknownMember"] = 1 },
            result.SkippedByReason);
        var rows = await ReadAsync(_temp.Combine("out"));
        Assert.Equal(["000000000", "000000001", "000000005", "000000006"], rows.Select(r => r.Key));
        Assert.Equal([jpeg, png, webp, image6], rows.Select(r => r.Image));
        Assert.Equal("a photo numbered 000000005", rows[2].Caption);
        Assert.Equal(["00000.parquet"], Directory.GetFiles(_temp.Combine("out")).Select(Path.GetFileName));
        Assert.All(rows, r => Assert.Null(r.Label));   // no KEY.cls: no label
        Assert.Equal(0, result.LabelledRows);
    }

    [Fact]
    public async Task Should_read_each_cls_into_the_label_and_keep_the_pair_without_one_when_a_cls_is_not_a_class_id()
    {
        var members = new List<(string, byte[])>();
        var classes = new[] { "3", "0\n", " 12 ", "-1", "two", "", null, "99999999999" };
        for (var i = 0; i < classes.Length; i++)
        {
            members.AddRange(Sample($"00000{i:D4}", Image(i)));
            if (classes[i] is { } cls)
            {
                members.Add(WebDatasetFixtures.Text($"00000{i:D4}.cls", cls));
            }
        }
        members.Add(WebDatasetFixtures.Text("000000000.cls", "5"));   // not consecutive with its sample: a sample of its own, without an image
        WriteTar(_temp.Combine("00000.tar"), members);
        var skips = new List<WebDatasetSkip>();
        var progress = new WebDatasetImportProgress();

        var result = await WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([_temp.Combine("00000.tar")], _temp.Combine("out")), progress, skips.Add);

        var rows = await ReadAsync(_temp.Combine("out"));
        Assert.Equal(8, rows.Count);   // every image-caption pair, the bad class ids' too
        Assert.Equal([3, 0, 12, null, null, null, null, null], rows.Select(r => r.Label));
        Assert.Equal((3L, 3L), (result.LabelledRows, progress.LabelledRows));
        Assert.Equal(
            [
                ("000000003.cls", WebDatasetSkipReason.BadLabel), ("000000004.cls", WebDatasetSkipReason.BadLabel),
                ("000000005.cls", WebDatasetSkipReason.BadLabel), ("000000007.cls", WebDatasetSkipReason.BadLabel),
                ("000000000.cls", WebDatasetSkipReason.DuplicateKey),
            ],
            skips.Select(s => (s.Member, s.Reason)));
        Assert.Equal("'-1' is not a class id (a non-negative integer up to 2,147,483,647); the pair is imported without a label", skips[0].Detail);
        Assert.Equal("'two' is not a class id (a non-negative integer up to 2,147,483,647); the pair is imported without a label", skips[1].Detail);
        Assert.StartsWith("empty: not a class id", skips[2].Detail);
        Assert.StartsWith("'99999999999' is not a class id", skips[3].Detail);
        Assert.Equal(new Dictionary<string, long> { ["BadLabel"] = 4, ["DuplicateKey"] = 1 }, result.SkippedByReason);
        var summary = await ParquetManifestReader.InspectAsync(_temp.Combine("out"));
        Assert.Equal((true, 3L), (summary.HasLabel, summary.LabelRows!.Value));

        var again = await WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([_temp.Combine("00000.tar")], _temp.Combine("out")));

        Assert.Equal((1, 3L), (again.Kept, again.LabelledRows));   // a kept file's labelled rows come from its footer
    }

    [Fact]
    public async Task Should_keep_the_rows_before_the_damage_and_name_the_member_when_a_tar_is_truncated()
    {
        var images = WriteGoodTar(_temp.Combine("whole.tar"), 0, 5);
        var tar = File.ReadAllBytes(_temp.Combine("whole.tar"));
        var third = images["000000002"];
        var at = tar.AsSpan().IndexOf(third);
        File.WriteAllBytes(_temp.Combine("00000.tar"), tar[..(at + third.Length / 2)]);
        var skips = new List<WebDatasetSkip>();

        var result = await WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([_temp.Combine("00000.tar")], _temp.Combine("out")), onSkip: skips.Add);

        var skip = Assert.Single(skips);
        Assert.Equal(("000000002.jpg", WebDatasetSkipReason.TruncatedTar), (skip.Member, skip.Reason));
        Assert.Contains($"damaged inside this member: its data starts at byte {at:N0} and declares {third.Length:N0} bytes", skip.Detail);
        Assert.Equal(2, result.Rows);
        Assert.Equal(["000000000", "000000001"], (await ReadAsync(_temp.Combine("out"))).Select(r => r.Key));
    }

    [Fact]
    public async Task Should_keep_every_whole_sample_when_a_tar_is_cut_between_two_members()
    {
        WriteGoodTar(_temp.Combine("whole.tar"), 0, 5);
        WriteGoodTar(_temp.Combine("three.tar"), 0, 3);
        var boundary = new FileInfo(_temp.Combine("three.tar")).Length - 1024;   // the same first 3 samples, without the two end blocks
        File.WriteAllBytes(_temp.Combine("00000.tar"), File.ReadAllBytes(_temp.Combine("whole.tar"))[..(int)boundary]);
        var skips = new List<WebDatasetSkip>();

        var result = await WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([_temp.Combine("00000.tar")], _temp.Combine("out")), onSkip: skips.Add);

        var skip = Assert.Single(skips);
        Assert.Equal(("(the header after 000000002.json)", WebDatasetSkipReason.TruncatedTar), (skip.Member, skip.Reason));
        Assert.Equal(3, result.Rows);
    }

    [Fact]
    public async Task Should_resume_to_the_same_manifest_when_an_import_was_interrupted()
    {
        for (var shard = 0; shard < 3; shard++)
        {
            WriteGoodTar(_temp.Combine($"{shard:D5}.tar"), shard, 4);
        }
        var pattern = _temp.Combine("{00000..00002}.tar");
        var reference = await WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([pattern], _temp.Combine("reference")));
        using var interrupt = new CancellationTokenSource();
        var progress = new WebDatasetImportProgress { OnTarDone = _ => interrupt.Cancel() };
        var options = new WebDatasetImportOptions([pattern], _temp.Combine("out")) { Threads = 1 };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WebDatasetImporter.ImportAsync(options, progress, cancellationToken: interrupt.Token));
        var finished = Directory.GetFiles(_temp.Combine("out"), "*.parquet").Select(Path.GetFileName).ToList();
        File.WriteAllBytes(_temp.Combine("out", "00002.parquet.partial"), "PAR1 and what a killed import left"u8.ToArray());
        var resumed = await WebDatasetImporter.ImportAsync(options);

        Assert.Equal(["00000.parquet"], finished);
        Assert.Equal((1, 1), (resumed.Kept, resumed.PartialFilesRemoved));
        Assert.True(resumed.Tars[0].Kept);
        Assert.Equal((12L, reference.ImageBytes), (resumed.Rows, resumed.ImageBytes));
        Assert.Empty(Directory.GetFiles(_temp.Combine("out"), "*.partial"));
        var (expected, actual) = (await ReadAsync(_temp.Combine("reference")), await ReadAsync(_temp.Combine("out")));
        Assert.Equal(expected.Select(r => (r.Key, r.Caption, Convert.ToBase64String(r.Image))), actual.Select(r => (r.Key, r.Caption, Convert.ToBase64String(r.Image))));
    }

    [Fact]
    public async Task Should_refuse_to_take_a_file_as_done_when_another_tool_wrote_it_under_the_tars_name()
    {
        WriteGoodTar(_temp.Combine("00000.tar"), 0, 2);
        await ManifestColumnMappingSpecs.WriteImg2DatasetAsync(_temp.Combine("out", "00000.parquet"), ["x"], [Image(9)]);

        var error = await Assert.ThrowsAsync<ManifestException>(() =>
            WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([_temp.Combine("00000.tar")], _temp.Combine("out"))));

        Assert.Contains("00000.parquet: was not written by import-webdataset from 00000.tar (its footer names no tar)", error.Message);
    }

    [Fact]
    public void Should_expand_zero_padded_brace_ranges_lists_and_globs_when_given_shard_patterns()
    {
        foreach (var name in new[] { "00008.tar", "00009.tar", "00010.tar", "extra-a.tar", "extra-b.tar", "notes.txt" })
        {
            File.WriteAllBytes(_temp.Combine(name), []);
        }

        Assert.Equal(["d/00008.tar", "d/00009.tar", "d/00010.tar", "d/00011.tar"], ShardPattern.ExpandBraces("d/{00008..00011}.tar"));
        Assert.Equal(["a-1", "a-2", "b-1", "b-2"], ShardPattern.ExpandBraces("{a,b}-{1..2}"));
        Assert.Equal(["x{1.2}"], ShardPattern.ExpandBraces("x{1.2}"));
        Assert.Equal(
            ["00008.tar", "00009.tar", "00010.tar", "extra-a.tar", "extra-b.tar"],
            ShardPattern.Expand([_temp.Combine("{00008..00010}.tar"), _temp.Combine("extra-*.tar"), _temp.Combine("00009.tar")]).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Should_refuse_before_writing_anything_when_a_pattern_matches_no_file()
    {
        WriteGoodTar(_temp.Combine("00000.tar"), 0, 1);

        var error = await Assert.ThrowsAsync<ManifestException>(() => WebDatasetImporter.ImportAsync(
            new WebDatasetImportOptions([_temp.Combine("00000.tar"), _temp.Combine("{00001..00099}.tar")], _temp.Combine("out"))));

        Assert.Contains("the shard pattern matches no file (none of its 99 names exists", error.Message);
        Assert.Contains("{00001..00099}.tar", error.Message);
        Assert.False(Directory.Exists(_temp.Combine("out")));
    }

    private static async Task<List<ManifestRow>> ReadAsync(string folder)
    {
        var summary = await ParquetManifestReader.InspectAsync(folder);
        await using var reader = new ParquetManifestReader(folder);
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));
        Assert.Equal(0, reader.Stats.Skipped);
        return rows;
    }
}
