using MmCluster.Coordinator.Web;
using Xunit;

namespace MmCluster.Coordinator.Tests.Web;

public sealed class RunFileCatalogSpecs
{
    [Fact]
    public void Should_resolve_only_listed_paths_when_a_path_climbs_out_is_absolute_or_is_not_a_run_file()
    {
        var run = Directory.CreateTempSubdirectory("mm-catalog-");
        try
        {
            Directory.CreateDirectory(Path.Combine(run.FullName, "logs"));
            File.WriteAllText(Path.Combine(run.FullName, "logs", "coordinator.log"), "up");
            File.WriteAllText(Path.Combine(run.FullName, "summary.json"), "{}");
            File.WriteAllText(Path.Combine(run.FullName, "spec.yaml"), "name: x");
            var catalog = new RunFileCatalog(run.FullName);

            Assert.Equal(Path.Combine(run.FullName, "logs/coordinator.log"), catalog.Resolve("logs/coordinator.log"));
            Assert.NotNull(catalog.Resolve("summary.json"));
            foreach (var path in new[] { "../summary.json", "logs/../summary.json", "./summary.json", "/etc/passwd", Path.Combine(run.FullName, "summary.json"), "spec.yaml", "logs\\coordinator.log", "logs//coordinator.log", "", null })
            {
                Assert.Null(catalog.Resolve(path));
            }
        }
        finally
        {
            run.Delete(recursive: true);
        }
    }
}
