using MmCluster.Shared.Hosting;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace MmCluster.Coordinator.Tests.Hosting;

public sealed class AkkaSettingsSpecs
{
    [Fact]
    public void Should_bind_seeds_roles_and_timings_when_environment_variables_set_them()
    {
        const string prefix = "MMCLUSTER_AKKA_SPEC_";
        var variables = new Dictionary<string, string>
        {
            [$"{prefix}Akka__SeedNodes__0"] = "akka.tcp://mmcluster@coordinator:4053",
            [$"{prefix}Akka__Roles__0"] = "worker",
            [$"{prefix}Akka__Port"] = "4100",
            [$"{prefix}Akka__Hostname"] = "0.0.0.0",
            [$"{prefix}Akka__PublicHostname"] = "worker-1.workers",
            [$"{prefix}Akka__SplitBrainStableAfter"] = "00:00:02",
        };
        foreach (var (name, value) in variables)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
        try
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables(prefix).Build();

            var settings = AkkaSettings.FromConfiguration(configuration);

            Assert.Equal(["akka.tcp://mmcluster@coordinator:4053"], settings.SeedNodes);
            Assert.Equal(["worker"], settings.Roles);
            Assert.Equal((4100, "0.0.0.0", "worker-1.workers"), (settings.Port, settings.Hostname, settings.PublicHostname));
            Assert.Equal(TimeSpan.FromSeconds(2), settings.SplitBrainStableAfter);
            Assert.Equal("mmcluster", settings.SystemName);
        }
        finally
        {
            foreach (var name in variables.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }
}
