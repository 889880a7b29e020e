using MmCluster.Worker.Runtime;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

public sealed class ProcStatusMemorySpecs
{
    [Fact]
    public void Should_read_the_resident_set_size_and_its_peak_when_given_this_process_s_real_proc_status()
    {
        var text = File.ReadAllText("/proc/self/status");
        var kib = (string name) => long.Parse(text.Split('\n').Single(l => l.StartsWith(name + ":")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

        var memory = ProcStatusMemory.Parse(text, "/proc/self/status");

        Assert.Empty(memory.Problems);
        Assert.Equal(kib("VmRSS") * 1024, memory.ResidentBytes);
        Assert.Equal(kib("VmHWM") * 1024, memory.PeakResidentBytes);
        Assert.InRange(memory.ResidentBytes!.Value, 1L << 20, memory.PeakResidentBytes!.Value);
    }

    [Fact]
    public void Should_leave_a_value_absent_and_say_why_when_its_line_is_missing_or_malformed()
    {
        const string sample = "Name:\tmmcluster\nVmPeak:\t  900 kB\nVmHWM:\t  12x4 kB\nThreads:\t9\n";

        var memory = ProcStatusMemory.Parse(sample, "sample/status");

        Assert.Equal(((long?)null, (long?)null), (memory.ResidentBytes, memory.PeakResidentBytes));
        Assert.Equal(["sample/status: no VmRSS line", "sample/status: VmHWM is 'VmHWM:\t  12x4 kB', not a number of kB"], memory.Problems);
    }

    [Theory]
    [InlineData("VmRSS:\t  2048 kB\nVmHWM:\t  4096 MB\n", 2048L * 1024, "VmHWM is 'VmHWM:\t  4096 MB', not a number of kB")]
    [InlineData("VmRSS:\t  -5 kB\nVmHWM:\t  4 kB\n", null, "VmRSS is 'VmRSS:\t  -5 kB', not a number of kB")]
    [InlineData("VmRSS:\t  99999999999999999999 kB\nVmHWM:\t  4 kB\n", null, "VmRSS is 'VmRSS:\t  99999999999999999999 kB', not a number of kB")]
    public void Should_refuse_a_value_that_is_not_a_whole_number_of_kib_when_a_line_has_another_unit_or_sign(string text, long? resident, string problem)
    {
        var memory = ProcStatusMemory.Parse(text, "s");

        Assert.Equal(resident, memory.ResidentBytes);
        Assert.Equal("s: " + problem, Assert.Single(memory.Problems));
    }

    [Fact]
    public void Should_report_the_managed_heap_and_no_resident_size_and_log_the_cause_once_when_the_status_file_cannot_be_read()
    {
        var logged = new List<string>();
        var missing = Path.Combine(Path.GetTempPath(), $"no-proc-{Guid.NewGuid():N}", "status");
        var memory = new ProcessMemory(logged.Add, missing);

        var first = memory.Read();
        var second = memory.Read();

        Assert.False(first.HasResidentBytes || first.HasPeakResidentBytes || second.HasResidentBytes);
        Assert.True(first.ManagedHeapBytes > 0);
        var line = Assert.Single(logged);
        Assert.StartsWith($"memory report: cannot read {missing} (", line);
    }

    [Fact]
    public void Should_report_this_process_s_resident_size_and_peak_when_reading_proc_self_status()
    {
        var logged = new List<string>();

        var memory = new ProcessMemory(logged.Add).Read();

        Assert.Empty(logged);
        Assert.True(memory.HasResidentBytes && memory.HasPeakResidentBytes);
        Assert.InRange(memory.ResidentBytes, 1L << 20, memory.PeakResidentBytes);
        Assert.True(memory.ManagedHeapBytes > 0);
    }
}
