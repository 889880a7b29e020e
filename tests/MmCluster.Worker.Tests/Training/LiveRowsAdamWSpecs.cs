using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Training;

/// <summary>
/// The live-row AdamW step of a large embedding (<see cref="LiveRowsAdamW"/>) against AdamW's dense step: the same
/// weights and state after steps whose lookups touch different rows (so rows without a gradient keep moving on their
/// moments), after a checkpoint restores state into a fresh optimizer, and with the table left out of a step's graph.
/// </summary>
public sealed class LiveRowsAdamWSpecs
{
    private const int Rows = (int)GradientAverager.RowSparseMinRows + 4;

    /// <summary>A lookup table (no weight decay: its name says embedding) and a decayed head.</summary>
    private sealed class TableModel : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding token_embedding;
        private readonly Linear head;

        public TableModel() : base(nameof(TableModel))
        {
            token_embedding = nn.Embedding(Rows, 8);
            head = nn.Linear(8, 3);
            RegisterComponents();
        }

        public Parameter Table => token_embedding.weight!;

        public override Tensor forward(Tensor ids) => head.forward(token_embedding.forward(ids));
    }

    private static TrainOptions Options => new() { LearningRate = 5e-2, TotalSteps = 40, WarmupSteps = 2, MaxGradNorm = 1.0 };

    /// <summary>Row sets that overlap partly, so some live rows have no gradient in a step.</summary>
    private static long[] IdsOf(int step) => [step % 3, 7 + step, Rows - 1 - (step % 4), 11, 2000 + (3 * step)];

    private static (TableModel Model, StageOptimizer Optimizer) Build(TableModel? copyOf, bool liveRows)
    {
        var model = new TableModel();
        if (copyOf is not null)
        {
            using var noGrad = no_grad();
            foreach (var (to, from) in model.parameters().Zip(copyOf.parameters()))
            {
                to.copy_(from);
            }
        }
        return (model, new StageOptimizer(model, Options, referenceStep: !liveRows));
    }

    /// <summary>A dense reference and a live-row copy of the same initial weights.</summary>
    private sealed class Pair : IDisposable
    {
        public Pair()
        {
            (Dense, DenseOptimizer) = Build(null, liveRows: false);
            (Sparse, SparseOptimizer) = Build(Dense, liveRows: true);
        }

        public TableModel Dense { get; }

        public StageOptimizer DenseOptimizer { get; }

        public TableModel Sparse { get; }

        public StageOptimizer SparseOptimizer { get; }

        public void TrainBoth(int from, int to, Func<int, long[]>? idsOf = null)
        {
            Train(Dense, DenseOptimizer, from, to, idsOf);
            Train(Sparse, SparseOptimizer, from, to, idsOf);
        }

        public void Dispose()
        {
            SparseOptimizer.Dispose();
            Sparse.Dispose();
            DenseOptimizer.Dispose();
            Dense.Dispose();
        }
    }

    private static void Train(TableModel model, StageOptimizer optimizer, int from, int to, Func<int, long[]>? idsOf = null)
    {
        for (var step = from; step < to; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.Begin();
            var ids = tensor((idsOf ?? IdsOf)(step));
            var output = model.forward(ids);
            var target = arange(output.numel(), dtype: ScalarType.Float32).reshape(output.shape) / 7.0;
            nn.functional.mse_loss(output, target).backward();
            optimizer.AverageGradients();
            optimizer.Update();
        }
    }

    private static void AssertSame(StageOptimizer expected, StageOptimizer actual)
    {
        var expectedStates = ((IOptimizerState)expected).Optimizer.state_dict().State.Cast<AdamW.State>().ToArray();
        var actualStates = ((IOptimizerState)actual).Optimizer.state_dict().State.Cast<AdamW.State>().ToArray();
        for (var i = 0; i < expected.NamedParameters.Count; i++)
        {
            var name = expected.NamedParameters[i].Name;
            AssertClose(expected.NamedParameters[i].Parameter, actual.NamedParameters[i].Parameter, name);
            AssertClose(expectedStates[i].exp_avg, actualStates[i].exp_avg, $"{name}.exp_avg");
            AssertClose(expectedStates[i].exp_avg_sq, actualStates[i].exp_avg_sq, $"{name}.exp_avg_sq");
            Assert.Equal(expectedStates[i].step, actualStates[i].step);
        }
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        using var scope = NewDisposeScope();
        var difference = (expected - actual).abs().max().item<float>();
        var scale = Math.Max(expected.abs().max().item<float>(), 1e-12f);
        Assert.True(difference <= 1e-6 * scale, $"{what}: max difference {difference} at scale {scale}");
    }

    [Fact]
    public void Should_step_the_table_as_dense_AdamW_does_when_lookups_touch_different_rows_each_step()
    {
        using var pair = new Pair();

        pair.TrainBoth(0, 8);

        AssertSame(pair.DenseOptimizer, pair.SparseOptimizer);
        var table = Assert.Single(pair.SparseOptimizer.LiveRowTables);
        var touched = Enumerable.Range(0, 8).SelectMany(IdsOf).Distinct().Count();
        Assert.Equal(touched, table.LiveRows);                     // every row ever looked up, and no other
        Assert.True(touched < Rows / 100);
    }

    [Fact]
    public void Should_keep_stepping_rows_live_in_a_restored_checkpoint_when_the_next_steps_do_not_touch_them()
    {
        var directory = Directory.CreateTempSubdirectory("mmcluster-liverows-");
        try
        {
            using var pair = new Pair();
            pair.TrainBoth(0, 4);
            var path = new CheckpointStore(directory.FullName).Save(pair.Sparse, pair.SparseOptimizer, new CheckpointMetadata(4, 0, 1), "{}");
            var (resumed, resumedOptimizer) = Build(null, liveRows: true);
            using (resumed)
            using (resumedOptimizer)
            {
                CheckpointStore.Load(path, resumed, resumedOptimizer);
                // Steps 20.. look up rows the first four never did; the first four's rows move only on their moments.
                Train(pair.Dense, pair.DenseOptimizer, 20, 24);
                Train(resumed, resumedOptimizer, 20, 24);

                AssertSame(pair.DenseOptimizer, resumedOptimizer);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Should_leave_the_table_and_its_step_count_alone_when_a_step_has_no_gradient_for_it()
    {
        using var pair = new Pair();
        pair.TrainBoth(0, 2);
        foreach (var (model, optimizer) in new[] { (pair.Dense, pair.DenseOptimizer), (pair.Sparse, pair.SparseOptimizer) })
        {
            using var scope = NewDisposeScope();
            optimizer.Begin();
            model.Table.grad = null;                               // as when the table was not used in the step's graph
            optimizer.Update();
        }

        AssertSame(pair.DenseOptimizer, pair.SparseOptimizer);
    }

    [Fact]
    public void Should_step_the_whole_table_for_good_when_a_quarter_of_its_rows_are_live()
    {
        using var pair = new Pair();
        pair.TrainBoth(0, 2);
        var table = Assert.Single(pair.SparseOptimizer.LiveRowTables);
        Assert.False(table.Dense);

        pair.TrainBoth(2, 3, _ => [.. Enumerable.Range(0, (Rows / 4) + 1).Select(i => (long)i * 3 % Rows)]);
        pair.TrainBoth(3, 6);                                      // few rows again: stays whole

        Assert.True(table.Dense);
        Assert.Equal(Rows, table.LiveRows);
        AssertSame(pair.DenseOptimizer, pair.SparseOptimizer);
    }
}
