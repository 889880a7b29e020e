using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Shared.Tests.Spec;

/// <summary>The run spec's <c>manifest.duplicate_keys</c> and <c>manifest.limits</c>, bound, validated and carried to workers.</summary>
public sealed class ManifestSpecSectionSpecs : IDisposable
{
    private const string Spec = """
        name: keys
        manifest:
          path: data
        stages:
          - { name: clip, kind: clip, model: { preset: clip-tiny }, batch_size: 4, steps: 10 }
        """;

    private readonly SpecFolder _folder = new("data");

    public void Dispose() => _folder.Dispose();

    private (RunSpec? Spec, IReadOnlyList<SpecProblem> Problems) Parse(string manifestLines) =>
        _folder.Parse(Spec.Replace("  path: data", "  path: data\n" + manifestLines));

    [Fact]
    public void Should_refuse_duplicates_with_default_limits_when_the_spec_says_nothing()
    {
        var (spec, problems) = Parse("");

        Assert.Empty(problems);
        Assert.Equal(DuplicateKeyPolicy.Refuse, spec!.Manifest!.DuplicateKeys);
        Assert.Equal(ManifestReadLimits.Default, spec.Manifest.Limits);
    }

    [Fact]
    public void Should_bind_the_policy_and_every_limit_when_they_are_given()
    {
        var (spec, problems) = Parse("  duplicate_keys: skip\n  limits: { max_image_bytes: 1000, max_image_pixels: 2000, max_caption_chars: 30 }");

        Assert.Empty(problems);
        Assert.Equal(DuplicateKeyPolicy.Skip, spec!.Manifest!.DuplicateKeys);
        Assert.Equal(new ManifestReadLimits { MaxImageBytes = 1000, MaxImagePixels = 2000, MaxCaptionChars = 30 }, spec.Manifest.Limits);
    }

    [Theory]
    [InlineData("  duplicate_keys: warn", "manifest.duplicate_keys", 4, "expected refuse or skip, got 'warn'")]
    [InlineData("  limits: { max_image_bytes: 0 }", "manifest.limits.max_image_bytes", 4, "must be between 1 and 1,073,741,824, got 0")]
    [InlineData("  limits:\n    max_image_pixels: 300000000", "manifest.limits.max_image_pixels", 5, "must be between 1 and 268,435,456, got 300,000,000")]
    [InlineData("  limits: { max_caption_chars: -1 }", "manifest.limits.max_caption_chars", 4, "must be between 1 and 65,536, got -1")]
    [InlineData("  limits: { max_caption_chars: many }", "manifest.limits.max_caption_chars", 4, "expected a whole number, got 'many'")]
    [InlineData("  limits: { max_bytes: 5 }", "manifest.limits.max_bytes", 4, "unknown field 'max_bytes'")]
    [InlineData("  columns: { picture: jpg }", "manifest.columns.picture", 4, "unknown field 'picture'")]
    [InlineData("  columns:\n    caption: txt\n    image: ' '", "manifest.columns.image", 6, "must name a column of the manifest's files, got ' '")]
    public void Should_name_the_key_and_its_line_when_a_value_is_wrong(string lines, string path, int line, string expected)
    {
        var (_, problems) = Parse(lines);

        var problem = Assert.Single(problems);
        Assert.Equal((path, line), (problem.Path, problem.Line));
        Assert.Contains(expected, problem.Message);
        Assert.StartsWith("run.yaml:", problem.ToString());
    }

    [Fact]
    public void Should_carry_the_column_mapping_to_every_reader_when_the_spec_maps_columns()
    {
        var (spec, problems) = Parse("  columns: { image: jpg, caption: txt, key: key }");
        var sent = new StageConfig
        {
            RunId = "r", RunDirectory = _folder.Path, Stage = "clip", Kind = "clip", Preset = "clip-tiny", ManifestPath = _folder.Combine("data"),
            Columns = spec!.Manifest!.Columns,
        };

        var received = StageConfig.FromJson(sent.ToJsonBytes());

        Assert.Empty(problems);
        Assert.Equal("key: key, caption: txt, image: jpg", spec.Manifest.ColumnMapping.ToString());
        Assert.Equal("key: key, caption: txt, image: jpg", received.OpenManifest("train").Columns.ToString());
        Assert.Equal(ManifestColumnMapping.None.ToString(), Parse("").Spec!.Manifest!.ColumnMapping.ToString());
    }

    [Fact]
    public void Should_carry_the_policy_limits_and_image_root_to_the_reader_when_a_stage_config_travels_as_json()
    {
        var limits = new ManifestReadLimits { MaxImageBytes = 1000, MaxImagePixels = 2000, MaxCaptionChars = 30 };
        var sent = new StageConfig
        {
            RunId = "r", RunDirectory = _folder.Path, Stage = "clip", Kind = "clip", Preset = "clip-tiny", ManifestPath = _folder.Combine("data"),
            ImageRoot = _folder.Path, ReadLimits = limits, DuplicateKeys = DuplicateKeyPolicy.Skip,
        };

        var received = StageConfig.FromJson(sent.ToJsonBytes());
        var reader = received.OpenManifest("test");

        Assert.Equal((limits, DuplicateKeyPolicy.Skip), (received.ReadLimits, received.DuplicateKeys));
        Assert.Equal((limits, DuplicateKeyPolicy.Skip, _folder.Path), (reader.Limits, reader.DuplicateKeys, reader.ImageRoot));
        Assert.Contains("\"duplicate_keys\":\"Skip\"", System.Text.Encoding.UTF8.GetString(sent.ToJsonBytes()));
    }
}
