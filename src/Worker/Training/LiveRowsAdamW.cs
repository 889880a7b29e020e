using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// AdamW's update of one large lookup table without weight decay (a token embedding: 50,257 rows of which a step looks
/// up a few hundred), applied only to its live rows: those with a gradient now or a non-zero moment from an earlier step.
/// Exactly what AdamW does to the whole table: a row with a zero gradient and zero moments keeps zero moments
/// (β·0 + (1-β)·0), and its update is step_size · 0 / (0 + eps) = 0, so skipping it changes nothing; the live rows get
/// the same element-wise operations in the same order as TorchSharp's <see cref="AdamW"/> step (<see cref="AdamWUpdate"/>),
/// on AdamW's own state tensors, so checkpoints, the recovery state transfer and the step counts are those of the dense path.
/// Dense, the step costs about nine passes over the table and two table-sized allocations (25 MB each for 50,257 x 128
/// floats); here one scan of the gradient for its non-zero rows and work in proportion to the live rows.
/// </summary>
/// <remarks>
/// The live set only grows (a superset is still exact: a dead row in it gets the zero update above). It is rebuilt from
/// the moments whenever AdamW's step count for the table is not the one this class left there, i.e. after a checkpoint
/// was loaded or a peer's state was received, so rows made live by those are never missed.
/// </remarks>
internal sealed class LiveRowsAdamW : IDisposable
{
    private readonly Parameter table;
    private readonly AdamW.State state;
    private Tensor? live;          // (V,) bool
    private long expectedStep = -1;

    public LiveRowsAdamW(Parameter table, AdamW.State state)
    {
        if (table.dim() != 2)
        {
            throw new ArgumentException($"a row-wise AdamW needs a 2-d table, got {table.dim()} dimensions", nameof(table));
        }
        this.table = table;
        this.state = state;
    }

    public Parameter Table => table;

    /// <summary>
    /// Once the live rows are this fraction's inverse or more of the table (a quarter: random or web-scale text reaches
    /// it), the table is stepped whole, as AdamW does, for good.
    /// </summary>
    private const long DenseBeyond = 4;

    /// <summary>Whether the table is now stepped whole (see <see cref="DenseBeyond"/>).</summary>
    public bool Dense { get; private set; }

    /// <summary>Rows updated by the last step (for the specs and the log).</summary>
    public long LiveRows { get; private set; }

    /// <summary>
    /// One AdamW step of the table with <paramref name="grad"/> (the table's averaged, clipped gradient, which AdamW's own
    /// step must skip), at learning rate <paramref name="lr"/> with no weight decay.
    /// </summary>
    public void Step(Tensor grad, double lr, double beta1, double beta2, double eps)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (state.exp_avg is null || state.exp_avg_sq is null)
        {
            throw new InvalidOperationException("AdamW's state for the table was not initialized");
        }
        state.step += 1;
        if (!Dense && StepLiveRows(grad, lr, beta1, beta2, eps))
        {
            return;
        }
        LiveRows = table.shape[0];
        AdamWUpdate.Apply(table, grad, state.exp_avg, state.exp_avg_sq, state.step, lr, weightDecay: 0, beta1, beta2, eps);
    }

    /// <summary>The step on the live rows; false (and <see cref="Dense"/> from now on) when they are too many for it.</summary>
    private bool StepLiveRows(Tensor grad, double lr, double beta1, double beta2, double eps)
    {
        using var zero = 0f.ToScalar();                             // held: see AdamWUpdate
        if (live is null || state.step - 1 != expectedStep)
        {
            var fromState = state.exp_avg.ne(zero).any(1).logical_or_(state.exp_avg_sq.ne(zero).any(1));
            var merged = live is null ? fromState : live.logical_or(fromState);
            live?.Dispose();
            live = merged.DetachFromDisposeScope();
        }
        live.logical_or_(grad.ne(zero).any(1));
        var rows = live.nonzero().squeeze(1);                      // (k,)
        LiveRows = rows.numel();
        expectedStep = state.step;
        if (LiveRows * DenseBeyond >= table.shape[0])
        {
            // Gathering and scattering most of the table costs more than the dense step; all rows is a superset of the
            // live ones, so this stays exact, and the live set only grows, so it stays dense.
            Dense = true;
            live.Dispose();
            live = null;
            return false;
        }
        if (LiveRows == 0)
        {
            return true;
        }

        var g = grad.index_select(0, rows);
        var m = state.exp_avg.index_select(0, rows);
        var v = state.exp_avg_sq.index_select(0, rows);
        var p = table.index_select(0, rows);
        AdamWUpdate.Apply(p, g, m, v, state.step, lr, weightDecay: 0, beta1, beta2, eps);
        state.exp_avg.index_copy_(0, rows, m);
        state.exp_avg_sq.index_copy_(0, rows, v);
        table.index_copy_(0, rows, p);
        return true;
    }

    public void Dispose() => live?.Dispose();
}
