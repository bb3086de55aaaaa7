"Tests of `mnist_linear.net`: the two-layer net and its 40-epoch run."
import pytest
import torch

from mnist_linear.net import make_simple_net, train_net



def test_simple_net_shapes():
    net = make_simple_net(n_hidden=7)
    assert [tuple(p.shape) for p in net.parameters()] == [(7, 784), (7,), (1, 7), (1,)]
    assert net(torch.zeros(5, 784)).shape == (5, 1)


@pytest.fixture(scope='module')
def net_run(data): return train_net(data=data)


def test_train_net_defaults_reach_the_book_level(net_run, data):
    accs, net = net_run
    assert len(accs) == 40
    assert accs[-1] >= 0.975
    with torch.no_grad(): preds = (net(data.valid_x) > 0).long()      # the net it returns is the one that reached it
    assert round(float((preds == data.valid_y).float().mean()), 4) == round(accs[-1], 4)


def test_train_net_is_deterministic(data):
    "Two runs from the same seed agree epoch for epoch; another seed does not (8 epochs each: the lr is constant, so that is the 40-epoch run cut short)."
    first, net = train_net(epochs=8, data=data)
    again, net_again = train_net(epochs=8, data=data)
    assert again == first and all(torch.equal(p, q) for p, q in zip(net.parameters(), net_again.parameters()))
    assert train_net(epochs=8, seed=7, data=data)[0] != first
