using System.Text.RegularExpressions;
using MmCluster.Cli.Tests.K8s;
using Xunit;

namespace MmCluster.Dashboard.Tests.Bundle;

/// <summary>
/// The dashboard's bundle (src/Coordinator/Web/wwwroot) is committed so a clone builds with the .NET SDK alone; these
/// specs keep it honest without node: it must be built from the sources as they are, and load nothing from elsewhere.
/// </summary>
public sealed partial class DashboardBundleSpecs
{
    private static readonly string[] BundleFiles = ["index.html", "app.js", "app.css"];

    [Fact]
    public void Should_record_the_hash_of_the_current_sources_when_the_bundle_is_committed()
    {
        var expected = DashboardSourceHash.Compute(RepoPaths.Root);
        foreach (var file in BundleFiles)
        {
            var path = RepoPaths.Of("src", "Coordinator", "Web", "wwwroot", file);
            Assert.True(File.Exists(path), $"{path} is missing: run web/build.sh and commit src/Coordinator/Web/wwwroot");
            var firstLine = File.ReadLines(path).First();
            var recorded = SourceHashPattern().Match(firstLine).Groups[1].Value;
            Assert.True(recorded == expected,
                $"src/Coordinator/Web/wwwroot/{file} was built from other sources (sha256:{recorded}, web/ now hashes to sha256:{expected}): "
                + "run web/build.sh and commit src/Coordinator/Web/wwwroot");
        }
    }

    [Fact]
    public void Should_reference_no_other_host_when_the_bundle_is_served()
    {
        foreach (var file in BundleFiles)
        {
            var text = File.ReadAllText(RepoPaths.Of("src", "Coordinator", "Web", "wwwroot", file));
            // The SVG namespace is a name, never fetched.
            var urls = UrlPattern().Matches(text).Select(m => m.Value).Where(u => u != "http://www.w3.org/2000/svg").ToList();
            Assert.True(urls.Count == 0, $"{file} names other hosts: {string.Join(", ", urls)}");
            Assert.DoesNotContain("@font-face", text);
            Assert.DoesNotMatch(ProtocolRelativePattern(), text);
        }
    }

    [GeneratedRegex("sources sha256:([0-9a-f]{64})")]
    private static partial Regex SourceHashPattern();

    [GeneratedRegex(@"(?i)\b(?:https?|wss?|ftp)://[^\s""'`)<>]+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"(?:src|href)\s*=\s*[""']?//")]
    private static partial Regex ProtocolRelativePattern();
}
