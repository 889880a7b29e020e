using MmCluster.Cli.Watch;
using MmCluster.Shared.Grpc.Dashboard;
using Xunit;

namespace MmCluster.Cli.Tests.Watch;

public sealed class WatchViewSpecs
{
    [Fact]
    public void Should_show_resident_size_and_peak_in_mib_when_the_worker_reported_them()
    {
        var worker = new WorkerProgress { WorkerId = "w0", ResidentBytes = 1536L << 20, PeakResidentBytes = 2L << 30 };

        Assert.Equal("1536/2048 MiB", WatchView.Memory(worker));
    }

    [Fact]
    public void Should_show_a_dash_for_each_value_the_worker_did_not_report()
    {
        Assert.Equal("-", WatchView.Memory(new WorkerProgress { WorkerId = "w0", ManagedHeapBytes = 1L << 20 }));
        Assert.Equal("-/300 MiB", WatchView.Memory(new WorkerProgress { WorkerId = "w0", PeakResidentBytes = 300L << 20 }));
    }
}
