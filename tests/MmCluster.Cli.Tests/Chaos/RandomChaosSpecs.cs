using MmCluster.Cli.Chaos;
using Xunit;

namespace MmCluster.Cli.Tests.Chaos;

public sealed class RandomChaosSpecs
{
    [Fact]
    public void Should_replay_the_same_kills_when_the_seed_is_the_same()
    {
        var plan = new RandomChaos(TimeSpan.FromSeconds(60), 7, Workers: true, Coordinator: false);

        var first = plan.Actions(3).Take(50).ToList();
        var again = plan.Actions(3).Take(50).ToList();
        var otherSeed = (plan with { Seed = 8 }).Actions(3).Take(50).ToList();

        Assert.Equal(first, again);
        Assert.NotEqual(first, otherSeed);
        Assert.All(first, a => Assert.Equal(ChaosKind.Kill, a.Kind));
        Assert.Equal(first.Select(a => a.After), first.Select(a => a.After).Order());
    }

    [Fact]
    public void Should_space_kills_by_the_mean_when_many_are_drawn()
    {
        var mtbf = TimeSpan.FromSeconds(60);
        var kills = new RandomChaos(mtbf, 7, Workers: true, Coordinator: false).Actions(2).Take(4000).ToList();

        // Exponential intervals: mean = mtbf and standard deviation = mtbf, so the mean of 4000 is within 5% (3 sigma).
        var intervals = kills.Zip(kills.Skip(1), (a, b) => (b.After!.Value - a.After!.Value).TotalSeconds).ToList();
        Assert.InRange(intervals.Average(), 57, 63);
        Assert.InRange(Math.Sqrt(intervals.Select(x => (x - 60) * (x - 60)).Average()), 54, 66);
        Assert.InRange(kills.Count(k => k.Target == "worker-0") / 4000.0, 0.45, 0.55);
        Assert.DoesNotContain(kills, k => k.Target is not ("worker-0" or "worker-1"));
    }

    [Fact]
    public void Should_pick_the_coordinator_too_when_it_is_a_target()
    {
        var kills = new RandomChaos(TimeSpan.FromSeconds(10), 1, Workers: true, Coordinator: true).Actions(2).Take(300).ToList();
        var onlyCoordinator = new RandomChaos(TimeSpan.FromSeconds(10), 1, Workers: false, Coordinator: true).Actions(2).Take(10);

        Assert.Equal(["coordinator", "worker-0", "worker-1"], kills.Select(k => k.Target).Distinct().Order());
        Assert.All(onlyCoordinator, k => Assert.Equal("coordinator", k.Target));
    }
}
