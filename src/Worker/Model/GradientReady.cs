using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>
/// The gradient-ready signal that lets <see cref="Distributed.GradientAverager"/> all-reduce buckets during backward, as DDP's
/// hooks on gradient accumulation do (TorchSharp has no tensor or accumulation hooks). A block of the model (a
/// transformer block, a Q-Former layer) passes its input through <see cref="Enter"/> at the start of its forward: an
/// identity whose backward runs once backward has left the block, and with it every block entered after it in this
/// step. libtorch's CPU engine runs ready nodes latest-created first and a parameter's gradient accumulation before
/// anything else, so by then the gradients of every parameter owned by those blocks are final (their last use in
/// forward lies after that entry). The averager listening on this thread (<see cref="Listen"/>) is told the entry's
/// index and launches the buckets that are complete. Off the training thread, with no listener, without grad or with an
/// input that needs no gradient, <see cref="Enter"/> is a plain alias.
/// </summary>
public static class GradientReady
{
    [ThreadStatic]
    private static IBlockListener? listener;

    /// <summary>What the averager implements: a block entered in forward, and backward having left an entry.</summary>
    internal interface IBlockListener
    {
        /// <summary>The block's index in this step's order of first entries, or null when it was entered before in this step.</summary>
        int? Entered(nn.Module block);

        /// <summary>Backward has left the entry of index <paramref name="index"/> (called from libtorch's backward: must not throw).</summary>
        void Left(int index);
    }

    /// <summary>Makes <paramref name="averager"/> the listener of this thread's blocks until the next call (null: none).</summary>
    internal static void Listen(IBlockListener? averager) => listener = averager;

    /// <summary>Stops <paramref name="averager"/> listening on this thread, if it does.</summary>
    internal static void Forget(IBlockListener averager)
    {
        if (ReferenceEquals(listener, averager))
        {
            listener = null;
        }
    }

    /// <summary>A new handle on <paramref name="input"/> (dispose it), through which backward signals the block's gradients ready.</summary>
    public static Tensor Enter(Tensor input, nn.Module block)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(block);
        var current = listener;
        if (current is null || !is_grad_enabled() || !input.requires_grad || current.Entered(block) is not { } index)
        {
            return input.alias();
        }
        return ReadyFunction.apply(input, current, index);
    }

    private sealed class ReadyFunction : autograd.SingleTensorFunction<ReadyFunction>
    {
        private const string Listener = "listener";
        private const string Index = "index";

        public override string Name => nameof(ReadyFunction);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data(Listener, vars[1]);
            ctx.save_data(Index, vars[2]);
            return ((Tensor)vars[0]).alias();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            ((IBlockListener)ctx.get_data(Listener)).Left((int)ctx.get_data(Index));
            return [grad_output.alias(), null!, null!];
        }
    }
}
